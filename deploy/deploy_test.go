// Package deploy holds the files that run credkeeper: a systemd unit,
// Kubernetes manifests and Prometheus alert rules. Its tests parse them.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/credkeeper/credkeeper/internal/metrics"
	"github.com/credkeeper/credkeeper/rotation"
)

func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("systemd/credkeeper.service")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(unit), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("not a key=value line: %q", line)
			}
			settings[section+"."+k] = append(settings[section+"."+k], v)
		}
	}
	for key, want := range map[string]string{
		"Service.DynamicUser": "yes", "Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict",
		"Service.ReadOnlyPaths": "/etc/credkeeper", "Service.ExecReload": "/bin/kill -HUP $MAINPID", "Install.WantedBy": "multi-user.target",
	} {
		if got := settings[key]; len(got) == 0 || got[0] != want {
			t.Errorf("%s = %v, want %q", key, got, want)
		}
	}
	if exec := settings["Service.ExecStart"]; len(exec) != 1 || !strings.Contains(exec[0], " daemon ") {
		t.Errorf("ExecStart = %v", exec)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: checked the unit's settings only")
		return
	}
	// Verify a copy whose ExecStart points at a binary that exists here.
	dir := t.TempDir()
	copyPath := filepath.Join(dir, "credkeeper.service")
	if err := os.WriteFile(copyPath, bytes.ReplaceAll(unit, []byte("/usr/local/bin/credkeeper"), []byte("/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestKubernetesManifests(t *testing.T) {
	f, err := os.Open("kubernetes/credkeeper.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		kinds[doc["kind"].(string)] = doc
	}
	dep := kinds["Deployment"]
	if dep == nil || kinds["ServiceAccount"] == nil || kinds["ConfigMap"] == nil {
		t.Fatalf("kinds: %v", keys(kinds))
	}
	spec := dep["spec"].(map[string]any)
	if spec["replicas"] != 2 {
		t.Errorf("replicas = %v, want 2", spec["replicas"])
	}
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		p, _ := c[probe].(map[string]any)
		if p == nil || p["httpGet"].(map[string]any)["path"] != path {
			t.Errorf("%s = %v, want httpGet %s", probe, p, path)
		}
	}
	cfg := kinds["ConfigMap"]["data"].(map[string]any)["credkeeper.hcl"].(string)
	if !strings.Contains(cfg, `auth "kubernetes"`) {
		t.Error("the config should log in with the Kubernetes auth method")
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPrometheusRulesUseRealMetrics(t *testing.T) {
	b, err := os.ReadFile("prometheus/credkeeper-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert  string
				Expr   string
				For    string
				Labels map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}

	// The metric families the daemon really exposes.
	m := metrics.New()
	m.CheckDone(rotation.Result{Name: "x", Environment: "prod", Class: rotation.ClassOK, RotateBy: time.Now()}, time.Now())
	m.TokenPublished("x", time.Now())
	m.Leader(true)
	m.VaultRequest("read", "ok")
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}

	alerts := map[string]bool{}
	metricName := regexp.MustCompile(`credkeeper_[a-z_]+`)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if r.Expr == "" || r.Labels["severity"] == "" {
				t.Errorf("%s: expr %q, severity %q", r.Alert, r.Expr, r.Labels["severity"])
			}
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
			}
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				if !known[name] {
					t.Errorf("%s uses %s, which the daemon does not expose", r.Alert, name)
				}
			}
		}
	}
	for _, want := range []string{"CredkeeperRotationDeadlineSoon", "CredkeeperCredentialDown", "CredkeeperNoRecentSuccess"} {
		if !alerts[want] {
			t.Errorf("no %s alert", want)
		}
	}
}
