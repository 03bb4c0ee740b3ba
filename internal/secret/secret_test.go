package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValueNeverPrintsItself(t *testing.T) {
	const text = "s3cr3t-client-secret"
	v := New(text)
	type wrapper struct {
		Name   string
		Secret Value
	}
	w := wrapper{"x", v}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, v), fmt.Sprintf(verb, w), fmt.Sprintf(verb, &w))
	}
	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("check", "secret", v, "record", w)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("check", "secret", v)
	outputs = append(outputs, logBuf.String())

	for _, out := range outputs {
		if strings.Contains(out, text) {
			t.Errorf("secret leaked in %q", out)
		}
	}
	if !strings.Contains(string(j), Redacted) {
		t.Errorf("JSON %s does not show the placeholder", j)
	}
	if v.Reveal() != text {
		t.Errorf("Reveal() = %q, want the original text", v.Reveal())
	}
}

func TestValueEquality(t *testing.T) {
	if !New("a").Equal(New("a")) || New("a").Equal(New("b")) {
		t.Error("Equal compares the secret text")
	}
	if !(Value{}).IsZero() || New("a").IsZero() {
		t.Error("IsZero reports an empty secret")
	}
}
