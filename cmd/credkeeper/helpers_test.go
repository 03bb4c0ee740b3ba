package main

import (
	"os"
	"testing"
)

func writeConfig(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile("credkeeper.hcl", []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
