// Package deploy holds the files that run credkeeper: a systemd unit,
// Kubernetes manifests and Prometheus alert rules. Its tests parse them.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/credkeeper/credkeeper/daemon"
	"github.com/credkeeper/credkeeper/internal/app"
	"github.com/credkeeper/credkeeper/internal/app/metrics"
	"github.com/credkeeper/credkeeper/oauthcheck"
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
	if stop, err := time.ParseDuration(strings.Join(settings["Service.TimeoutStopSec"], "")); err != nil || stop < worstCaseStop {
		t.Errorf("TimeoutStopSec = %v, want at least the daemon's worst-case stop %v", settings["Service.TimeoutStopSec"], worstCaseStop)
	}
	// With DynamicUser, a secret file the service reads directly would
	// have to be world-readable: secrets come through LoadCredential.
	if creds := settings["Service.LoadCredential"]; len(creds) == 0 || !strings.Contains(string(unit), "/run/credentials/credkeeper.service/") {
		t.Errorf("LoadCredential = %v; the unit should hand secret files over as systemd credentials", creds)
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

// worstCaseStop is the longest the daemon takes to stop after SIGTERM: its
// Run, then the HTTP server's shutdown.
const worstCaseStop = daemon.StopTimeout + app.HTTPShutdownTimeout

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
	image, _ := c["image"].(string)
	if name, tag, ok := strings.Cut(image, ":"); !ok || name == "" || tag == "" || tag == "latest" {
		t.Errorf("image %q: pin a release, never :latest", image)
	}
	if grace, _ := pod["terminationGracePeriodSeconds"].(int); time.Duration(grace)*time.Second < worstCaseStop {
		t.Errorf("terminationGracePeriodSeconds = %d, want at least the daemon's worst-case stop %v", grace, worstCaseStop)
	}
	if pdb := kinds["PodDisruptionBudget"]; pdb == nil || pdb["spec"].(map[string]any)["maxUnavailable"] != 1 {
		t.Errorf("a PodDisruptionBudget keeping one of the two replicas: %v", pdb)
	}
	np := kinds["NetworkPolicy"]
	if np == nil {
		t.Fatal("the daemon listens on 0.0.0.0: a NetworkPolicy must limit who reaches it")
	}
	npSpec := np["spec"].(map[string]any)
	ingress, _ := npSpec["ingress"].([]any)
	if types := fmt.Sprint(npSpec["policyTypes"]); !strings.Contains(types, "Ingress") || len(ingress) != 1 {
		t.Fatalf("NetworkPolicy: policyTypes %s, %d ingress rules; want one rule", types, len(ingress))
	}
	rule := ingress[0].(map[string]any)
	if from, _ := rule["from"].([]any); len(from) == 0 || fmt.Sprint(rule["ports"]) != "[map[port:9464 protocol:TCP]]" {
		t.Errorf("ingress rule %v: only Prometheus, only the metrics port", rule)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// exposedMetrics is the metric families the daemon really exposes.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.CheckDone(oauthcheck.Result{Name: "x", Environment: "prod", Class: oauthcheck.ClassOK, RotateBy: time.Now()}, time.Now())
	m.TokenPublished("x", time.Now())
	m.Leader(true)
	m.VaultRequest("read", "ok")
	m.NoticeDelivered("security", "reminder", nil, time.Now())
	m.NoticeDelivered("security", "reminder", errors.New("refused"), time.Now())
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}
	return known
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

	known := exposedMetrics(t)

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
	for _, want := range []string{"CredkeeperRotationDeadlineSoon", "CredkeeperCredentialDown", "CredkeeperNoRecentSuccess", "CredkeeperNoLeader", "CredkeeperNoticeChannelFailing"} {
		if !alerts[want] {
			t.Errorf("no %s alert", want)
		}
	}
}

// The rules are evaluated by Prometheus's own promtool against the unit
// tests in credkeeper-rules_test.yml (a leader missing from every scrape
// must page, too). CI installs promtool (Debian's prometheus package).
func TestPrometheusRulesFireWhenTheyShould(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed: .ci/run installs Debian's prometheus package")
		}
		t.Skip("promtool is not installed (apt-get install prometheus): the rules were only parsed")
	}
	for _, args := range [][]string{{"check", "rules", "credkeeper-rules.yml"}, {"test", "rules", "credkeeper-rules_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The Grafana dashboard queries only metrics the daemon exposes, and
// covers what its readers come for.
func TestGrafanaDashboardUsesRealMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana/credkeeper.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana/credkeeper.json: %v", err)
	}
	known := exposedMetrics(t)
	metricName := regexp.MustCompile(`credkeeper_[a-z_]+`)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(name, "_bucket")
				if !known[base] {
					t.Errorf("panel %q uses %s, which the daemon does not expose", p.Title, name)
				}
				used[base] = true
			}
		}
	}
	for _, want := range []string{"credkeeper_check_total", "credkeeper_credential_rotation_deadline_timestamp_seconds", "credkeeper_notice_failures_total", "credkeeper_leader"} {
		if !used[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}
