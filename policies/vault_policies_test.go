package policies

import (
	"github.com/credkeeper/credkeeper/config"
	"strings"
	"testing"
)

// A policy document is generated only for a mount and prefix that name
// one folder: a glob character, "..", or an empty segment would make its
// paths cover other folders, or every one.
func TestPolicyDocumentsRefuseAPrefixThatIsNotOneFolder(t *testing.T) {
	for _, tc := range []struct {
		name, mount, prefix string
		wantErr             string
	}{
		{"the default folder is fine", "secret", "credkeeper", ""},
		{"nested segments of letters, digits, '-', '_' and '.' are fine", "kv", "teams/sec-ops_2/credkeeper.v1", ""},
		{"outer slashes are dropped", "secret/", "/credkeeper/", ""},
		{"a plus covers every prefix", "secret", "+", `prefix "+"`},
		{"a star covers every prefix beginning so", "secret", "cred*", `prefix "cred*"`},
		{"a plus inside a path covers every segment there", "secret", "teams/+/credkeeper", `prefix "teams/+/credkeeper"`},
		{"dot-dot climbs out of the folder", "secret", "teams/../credkeeper", `prefix "teams/../credkeeper"`},
		{"an empty segment is refused", "secret", "teams//credkeeper", `prefix "teams//credkeeper"`},
		{"a space is refused", "secret", "teams/sec ops", `prefix "teams/sec ops"`},
		{"a glob in the mount covers every mount", "*", "credkeeper", `mount "*"`},
		{"an empty prefix is refused", "secret", "/", `prefix "/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, role := range config.Roles {
				_, err := PolicyDocument(role, tc.mount, tc.prefix)
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("%s: %v", role, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("%s: %v, want an error naming %s", role, err, tc.wantErr)
				}
			}
			_, err := Documents(config.VaultPolicyNames{Daemon: "d", Operator: "o", CI: "c", Auditor: "a", ScopedCI: []config.ScopedCI{{Name: "s", Credentials: []string{"x"}}}}, tc.mount, tc.prefix)
			if (err != nil) != (tc.wantErr != "") {
				t.Errorf("Documents: %v", err)
			}
		})
	}
}
