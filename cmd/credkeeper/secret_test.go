package main

import (
	"io"
	"strings"
	"testing"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

// A secret on standard input is read as a secret file is: its first line,
// without surrounding white space, and at most 64 KiB of it.
func TestASecretOnStandardInputIsTrimmedAndBounded(t *testing.T) {
	const kib64 = 64 << 10
	for _, tc := range []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"trailing spaces and tabs are dropped as a file's are", "Zq8-secret \t \n", "Zq8-secret", ""},
		{"a carriage return before the newline is dropped", "Zq8-secret\r\n", "Zq8-secret", ""},
		{"leading white space is dropped too", " \tZq8-secret\n", "Zq8-secret", ""},
		{"a secret without a final newline is whole", "Zq8-secret", "Zq8-secret", ""},
		{"only the first line is the secret", "Zq8-secret\nsomething else\n", "Zq8-secret", ""},
		{"a secret of 64 KiB is kept whole", strings.Repeat("x", kib64) + "\n", strings.Repeat("x", kib64), ""},
		{"a secret of 64 KiB and a byte is refused", strings.Repeat("x", kib64+1) + "\n", "", "longer than 64 KiB"},
		{"a line of white space is refused as empty", " \t\r\n", "", "the client secret is empty"},
		{"nothing at all is refused as empty", "", "", "the client secret is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSecret(strings.NewReader(tc.in), io.Discard, "svc")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("readSecret: %v", err)
			case tc.wantErr == "" && got.Reveal() != tc.want:
				t.Errorf("read a secret of %d bytes that is not the one given (%d bytes once trimmed)", len(got.Reveal()), len(tc.want))
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("readSecret = %v, want an error saying %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "xxxx"):
				t.Error("the error shows the secret")
			}
		})
	}
}

// 40 MB on standard input is refused without reading it all.
func TestAHugeSecretOnStandardInputIsRefusedEarly(t *testing.T) {
	in := &countingReader{r: io.LimitReader(neverEnding('x'), 40<<20)}
	_, err := readSecret(in, io.Discard, "svc")
	if err == nil || !strings.Contains(err.Error(), "longer than 64 KiB") {
		t.Fatalf("readSecret of 40 MB = %v, want refused", err)
	}
	if in.read > 1<<20 {
		t.Errorf("read %d bytes of standard input before refusing, want little over 64 KiB", in.read)
	}
}

// neverEnding is an endless run of one byte.
type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
