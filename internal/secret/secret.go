// Package secret holds the one type that carries secret material (client
// secrets, access tokens, passwords) through credkeeper.
//
// A Value prints as "[redacted]" under every fmt verb, in JSON and in slog,
// so a secret that wanders into a log line, an error or a table shows up as
// the placeholder rather than as itself. The only way to the real text is
// Reveal, which makes each use easy to find and review.
package secret

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Redacted is what a Value prints as.
const Redacted = "[redacted]"

// Value is a secret string. The zero value is the empty secret.
type Value struct{ s string }

// New wraps s.
func New(s string) Value { return Value{s: s} }

// Reveal returns the secret text. Call it only where the secret must leave
// the process: a request to Vault or to a token endpoint.
func (v Value) Reveal() string { return v.s }

// Redacted returns the zero Value: for records kept in memory after their
// secret has gone where it had to.
func (v Value) Redacted() Value { return Value{} }

// IsZero reports whether the secret is empty.
func (v Value) IsZero() bool { return v.s == "" }

// Equal reports whether two secrets are the same without revealing either.
func (v Value) Equal(o Value) bool { return v.s == o.s }

// String implements fmt.Stringer.
func (v Value) String() string { return Redacted }

// GoString implements fmt.GoStringer, for %#v.
func (v Value) GoString() string { return Redacted }

// Format implements fmt.Formatter so that no verb (%x, %q, %v …) shows the text.
func (v Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (v Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler: JSON output never carries the secret.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// ReadFile reads a secret kept in a file (a password, a routing key, an
// AppRole secret ID), without its surrounding white space. what names it
// in errors, which give the path and never the contents; an empty file is
// an error.
func ReadFile(path, what string) (Value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Value{}, fmt.Errorf("read %s from %s: %w", what, path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return Value{}, fmt.Errorf("%s file %s is empty", what, path)
	}
	return New(s), nil
}

// MaxLineSize bounds a secret read by ReadLine: no client secret or key
// comes near it, and a stream that does is not one.
const MaxLineSize = 64 << 10

// ErrTooLong is ReadLine's error for a line over MaxLineSize.
var ErrTooLong = errors.New("longer than 64 KiB")

// ReadLine reads a secret given on a stream (standard input): its first
// line, without surrounding white space, as ReadFile trims a file. A line
// over MaxLineSize, white space included, is refused with ErrTooLong after
// reading little more than that; an empty secret is returned as the zero
// Value for the caller to refuse.
func ReadLine(r io.Reader) (Value, error) {
	line, err := bufio.NewReader(io.LimitReader(r, MaxLineSize+1)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return Value{}, err
	}
	if len(strings.TrimSuffix(line, "\n")) > MaxLineSize {
		return Value{}, ErrTooLong
	}
	return Trim(line), nil
}

// Trim returns s without surrounding white space, as a secret.
func Trim(s string) Value { return New(strings.TrimSpace(s)) }
