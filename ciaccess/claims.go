package ciaccess

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/text"
)

// Claims are a JWT's header and claims, decoded without verifying its
// signature: they say what the token claims, to explain a refusal, never
// whom to trust.
type Claims struct {
	Header map[string]any
	Claims map[string]any
}

// DecodeUnverified reads a JWT's header and claims without verifying it;
// false when jwt is not a JWT.
func DecodeUnverified(jwt string) (Claims, bool) {
	parts := strings.Split(strings.TrimSpace(jwt), ".")
	if len(parts) != 3 {
		return Claims{}, false
	}
	var c Claims
	if !decodeSegment(parts[0], &c.Header) || !decodeSegment(parts[1], &c.Claims) {
		return Claims{}, false
	}
	return c, true
}

func decodeSegment(seg string, v *map[string]any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v) == nil && *v != nil
}

// maxShown bounds a claim's value as a report shows it.
const maxShown = 200

// Value is the claim's value as text, one line, bounded, nothing a
// terminal would obey; false when the JWT does not hold the claim.
func (c Claims) Value(name string) (string, bool) {
	v, ok := c.Claims[name]
	if !ok {
		return "", false
	}
	return show(v), true
}

// Audiences are the JWT's aud, one or several.
func (c Claims) Audiences() []string {
	switch v := c.Claims["aud"].(type) {
	case string:
		return []string{show(v)}
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			out = append(out, show(a))
		}
		return out
	}
	return nil
}

// Time is a NumericDate claim (exp, nbf, iat); false when absent.
func (c Claims) Time(name string) (time.Time, bool) {
	n, ok := c.Claims[name].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0).UTC(), true
}

// KeyID is the header's kid.
func (c Claims) KeyID() string { return show(c.Header["kid"]) }

// ServiceAccount is the namespace and name a Kubernetes service account
// token names, in either of the forms Kubernetes writes.
func (c Claims) ServiceAccount() (namespace, name string) {
	if k, ok := c.Claims["kubernetes.io"].(map[string]any); ok {
		namespace = show(k["namespace"])
		if sa, ok := k["serviceaccount"].(map[string]any); ok {
			name = show(sa["name"])
		}
		return namespace, name
	}
	return show(c.Claims["kubernetes.io/serviceaccount/namespace"]), show(c.Claims["kubernetes.io/serviceaccount/service-account.name"])
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return text.Truncate(text.Printable(x), maxShown)
	case []any:
		parts := make([]string, 0, len(x))
		for _, p := range x {
			parts = append(parts, show(p))
		}
		return text.Truncate(strings.Join(parts, ", "), maxShown)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return text.Truncate("{"+text.Printable(strings.Join(keys, ", "))+"}", maxShown)
	}
	return text.Truncate(text.Printable(fmt.Sprint(v)), maxShown)
}
