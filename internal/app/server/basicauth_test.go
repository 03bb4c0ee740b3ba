package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

type readyStub struct{}

func (readyStub) Ready(context.Context) (string, error) { return "leader", nil }

// With a basic auth file, the status page and /metrics ask for a user and
// password that match a bcrypt hash; the probes stay open.
func TestBasicAuthGuardsThePagesNotTheProbes(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("Correct-Horse-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte("# who may look\nalice:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, err := LoadBasicAuthFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("the status page")) })
	srv := httptest.NewServer(New(prometheus.NewRegistry(), readyStub{}, pages, auth))
	defer srv.Close()
	get := func(path, user, pass string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, user, pass string
		want             int
	}{
		{"/", "", "", 401},
		{"/", "alice", "wrong", 401},
		{"/", "bob", "Correct-Horse-1", 401},
		{"/", "alice", "Correct-Horse-1", 200},
		{"/credentials/x", "alice", "Correct-Horse-1", 200},
		{"/metrics", "", "", 401},
		{"/metrics", "alice", "Correct-Horse-1", 200},
		{"/healthz", "", "", 200},
		{"/readyz", "", "", 200},
	} {
		if got := get(tc.path, tc.user, tc.pass); got != tc.want {
			t.Errorf("GET %s as %q: %d, want %d", tc.path, tc.user, got, tc.want)
		}
	}
}

func TestBasicAuthFileErrorsSayWhere(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"alice\n", ":1: want USER:BCRYPT-HASH"},
		{"# nobody\n", "no USER:BCRYPT-HASH line"},
		{"alice:plaintext-password\n", ":1: the hash of alice is not a bcrypt hash"},
	} {
		path := filepath.Join(dir, "users")
		_ = os.WriteFile(path, []byte(tc.text), 0o600)
		_, err := LoadBasicAuthFile(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "plaintext-password") {
			t.Errorf("the error repeats the file's password: %v", err)
		}
	}
}

// A user name cannot be told by how long a refusal takes: an unknown user
// costs one bcrypt comparison at the cost of the file's own hashes, as a
// known user with a wrong password does.
func TestBasicAuthUnknownUserCostsWhatAKnownUserCosts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		costs []int // the file's users' hash costs
	}{
		{"a file of cheap hashes", []int{bcrypt.MinCost}},
		{"a file of costly hashes", []int{bcrypt.MinCost + 2}},
		{"a file of mixed hashes, the costliest counting", []int{bcrypt.MinCost, bcrypt.MinCost + 1}},
	} {
		var file strings.Builder
		for i, cost := range tc.costs {
			hash, err := bcrypt.GenerateFromPassword([]byte("Correct-Horse-1"), cost)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&file, "user%d:%s\n", i, hash)
		}
		path := filepath.Join(t.TempDir(), "users")
		if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		auth, err := LoadBasicAuthFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var compared []int
		auth.compare = func(hash, password []byte) error {
			cost, err := bcrypt.Cost(hash)
			if err != nil {
				t.Fatalf("%s: compared against something that is not a bcrypt hash", tc.name)
			}
			compared = append(compared, cost)
			return bcrypt.CompareHashAndPassword(hash, password)
		}
		last := len(tc.costs) - 1
		known := fmt.Sprintf("user%d", last)
		for _, who := range []string{known, "nobody"} {
			compared = nil
			if auth.allowed(who, "wrong-password") {
				t.Fatalf("%s: %s signed in with a wrong password", tc.name, who)
			}
			if len(compared) != 1 || compared[0] != tc.costs[last] {
				t.Errorf("%s: refusing %s took bcrypt comparisons at costs %v, want one at cost %d", tc.name, who, compared, tc.costs[last])
			}
		}
	}
}
