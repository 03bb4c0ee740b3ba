package config

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The configuration language stands on its own: neither it nor anything
// it imports speaks HTTP or knows the checker, so that a file can be
// parsed, validated and formatted with no network code linked in.
func TestConfigImportsNoHTTPNorTheChecker(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list config's imports: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-json=ImportPath", ".").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]bool{
		"net/http": true,
		"github.com/credkeeper/credkeeper/oauthcheck": true,
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var pkg struct{ ImportPath string }
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		seen++
		if forbidden[pkg.ImportPath] || strings.HasPrefix(pkg.ImportPath, "net/http/") {
			t.Errorf("config depends on %s", pkg.ImportPath)
		}
	}
	if seen == 0 {
		t.Fatal("go list named no packages")
	}
}
