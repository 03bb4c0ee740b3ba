package config

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// readmeBlock is one fenced hcl block of README.md.
type readmeBlock struct {
	line     int
	fragment bool // "```hcl fragment": validated inside fragmentWrapper
	src      string
}

func readmeHCL(t *testing.T) []readmeBlock {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		buf    strings.Builder
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```hcl"):
			cur = &readmeBlock{line: n + 1, fragment: strings.Contains(trimmed, "fragment")}
			buf.Reset()
		case cur != nil && strings.HasPrefix(trimmed, "```"):
			cur.src = buf.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			buf.WriteString(line + "\n")
		}
	}
	return blocks
}

// fragmentWrapper declares what README's fragments refer to without
// declaring themselves; the fragments are validated together inside it,
// as they would be pasted into one file.
const fragmentWrapper = `
provider "acme-okta" {
  token_url  = "https://acme.okta.com/oauth2/default/v1/token"
  auth_style = "header"
}
provider "internal-idp" {
  token_url  = "https://idp.example.org/oauth2/token"
  auth_style = "body"
}
notifier "webhook" "security" {
  url = "https://hooks.example.org/security"
}
notifier "webhook" "oncall" {
  url = "https://hooks.example.org/oncall"
}
`

// Every hcl block in README.md is valid as a newcomer would paste it: a
// whole file, or (marked "fragment") together with the other fragments
// inside a minimal wrapper.
func TestReadmeHCLBlocksAreValid(t *testing.T) {
	blocks := readmeHCL(t)
	if len(blocks) < 5 {
		t.Fatalf("found %d hcl blocks in README.md", len(blocks))
	}
	fragments := fragmentWrapper
	for _, b := range blocks {
		if b.fragment {
			fragments += b.src
			continue
		}
		validateReadme(t, fmt.Sprintf("the hcl block at line %d", b.line), b.src)
	}
	validateReadme(t, "the fragments", fragments)
}

func validateReadme(t *testing.T, what, src string) {
	t.Helper()
	if _, diags := Parse([]byte(src), "README.md"); diags.HasErrors() {
		for _, d := range diags {
			t.Errorf("README.md, %s, is not valid: %s: %s", what, d.Summary, d.Detail)
		}
	}
}
