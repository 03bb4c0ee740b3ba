package ciaccess

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Input is what Verify needs.
type Input struct {
	Config *config.Config
	// Access names the ci_access block.
	Access string
	// JWT is the CI job's ID token (or the pod's service account token).
	JWT secret.Value
	// Vault says where Vault and credkeeper's records are; its Auth reads
	// the role Vault holds, to compare it with the configuration's, and is
	// replaced by the job's login for the reads.
	Vault vaultstore.Config
	// Now is the time a refusal is explained at.
	Now time.Time
}

// The records a job might read, as Read.What names them.
const (
	ReadToken   = "token"
	ReadSecret  = "client secret"
	ReadPending = "pending pair"
	ReadState   = "state"
	ReadLedger  = "ledger"
	// The listings carry no credential name.
	ReadCredentialList = "credential list"
	ReadTokenList      = "token list"
)

// Read is one read the job tried.
type Read struct {
	What       string `json:"what"`
	Credential string `json:"credential,omitempty"`
	// Allowed: Vault let the job read it (a record not written yet
	// counts: the policy allowed the read).
	Allowed bool `json:"allowed"`
	// Published: for an allowed token, whether one was there.
	Published bool `json:"published,omitempty"`
	// Want is what the configuration says the job may do.
	Want bool `json:"want"`
}

// Report is what Verify found.
type Report struct {
	Access   string `json:"access"`
	Identity string `json:"identity"` // github, gitlab or kubernetes
	Mount    string `json:"mount"`
	Role     string `json:"role"`
	LoggedIn bool   `json:"logged_in"`
	// Refusal explains a refused login.
	Refusal *Refusal `json:"refusal,omitempty"`
	// Expected are the credentials whose tokens the configuration lets
	// the job read; Readable those it read.
	Expected []string `json:"expected"`
	Readable []string `json:"readable"`
	// Reads are every read tried, in order.
	Reads []Read `json:"reads"`
	// LoginPolicies are the policies Vault's login gave the job.
	LoginPolicies []string `json:"login_policies"`
	// Differences say, in plain words, where the role Vault holds or the
	// login's policies differ from what the configuration generates.
	Differences []string `json:"differences"`
	// Exact: the job logged in, Vault's role and the login's policies are
	// the configuration's, and the job can read exactly what it says.
	Exact bool `json:"exact"`
}

// Unexpected are the reads whose outcome differs from the configuration.
func (r *Report) Unexpected() []Read {
	var out []Read
	for _, rd := range r.Reads {
		if rd.Allowed != rd.Want {
			out = append(out, rd)
		}
	}
	return out
}

// Verify logs in as the ci_access block's CI job would and reports what
// the login can read. An error is a failure to verify (no such block,
// Vault unreachable); a refused login is a Report with a Refusal.
func Verify(ctx context.Context, in Input) (*Report, error) {
	a, ok := in.Config.CIAccessByName(in.Access)
	if !ok {
		return nil, fmt.Errorf("no ci_access %q in the configuration%s", in.Access, declared(in.Config))
	}
	role, ok := roleOf(in.Config, in.Vault, in.Access)
	if !ok {
		return nil, fmt.Errorf("ci_access %q has no Vault role", in.Access)
	}
	rep := &Report{
		Access: a.Name, Identity: a.Kind(), Mount: role.Mount, Role: role.Name,
		Expected: slices.Clone(role.Credentials), Readable: []string{}, Reads: []Read{},
		LoginPolicies: []string{}, Differences: []string{},
	}
	admin, err := vaultstore.Open(ctx, in.Vault)
	if err != nil {
		return nil, err
	}
	held, exists, err := admin.AuthRole(ctx, role.Mount, role.Name)
	if err != nil {
		return nil, fmt.Errorf("read the role %s at auth/%s to compare it with the configuration: %w", role.Name, role.Mount, err)
	}
	if exists {
		rep.Differences = RoleDifferences(role.Data, held)
	}
	method := vaultstore.AuthJWT
	if role.Method == policies.CIMethodKubernetes {
		method = vaultstore.AuthKubernetes
	}
	vc := in.Vault
	vc.Auth = vaultstore.AuthConfig{Method: method, Mount: role.Mount, Role: role.Name, JWT: in.JWT}
	store, err := vaultstore.Open(ctx, vc)
	if reason, refused := vaultstore.LoginRefusal(err); refused {
		c, decoded := DecodeUnverified(in.JWT.Reveal())
		ref := Explain(reason, role, c, decoded, in.Now)
		rep.Refusal = &ref
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	rep.LoggedIn = true
	rep.LoginPolicies = append(rep.LoginPolicies, store.LoginPolicies()...)
	if !slices.Equal(rep.LoginPolicies, []string{role.PolicyName}) {
		rep.Differences = append(rep.Differences, fmt.Sprintf("the login carries the policies %s, not the policy %s alone", policyList(rep.LoginPolicies), role.PolicyName))
	}
	if err := probe(ctx, store, in.Config, role.Credentials, rep); err != nil {
		return nil, err
	}
	rep.Exact = len(rep.Unexpected()) == 0 && len(rep.Differences) == 0
	return rep, nil
}

// RoleDifferences say, one sentence each in field order, which fields of
// the role Vault holds (held) differ from the role the configuration
// generates (want): a role widened by hand lets other jobs in even when
// the configuration's own job reads exactly its tokens.
func RoleDifferences(want, held map[string]any) []string {
	out := []string{}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, h := canonical(want[k]), "(unset)"
		if v, ok := held[k]; ok {
			h = canonical(v)
		}
		if w != h {
			out = append(out, fmt.Sprintf("the role in Vault has %s = %s; the configuration generates %s", k, h, w))
		}
	}
	return out
}

// canonical renders a role field as JSON, so that a value read from Vault
// (json.Number, []any) and one generated ([]string, int) compare alike.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

func policyList(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}

// roleOf is the role credkeeper writes for the block, for the records
// under the mount and prefix the store uses.
func roleOf(cfg *config.Config, vc vaultstore.Config, name string) (policies.CIRole, bool) {
	mount, prefix := vc.Mount, vc.Prefix
	if mount == "" {
		mount = vaultstore.DefaultMount
	}
	if prefix == "" {
		prefix = vaultstore.DefaultPrefix
	}
	for _, r := range policies.CIRolesAt(cfg, mount, prefix) {
		if r.Name == name {
			return r, true
		}
	}
	return policies.CIRole{}, false
}

// probe tries every read of every declared credential's records, and
// the listing of credentials and tokens.
func probe(ctx context.Context, s *vaultstore.Store, cfg *config.Config, expected []string, rep *Report) error {
	record := func(what, name string, want bool, allowed, exists bool, err error) error {
		if err != nil {
			if name == "" {
				return fmt.Errorf("list the %s with the job's login: %w", what, err)
			}
			return fmt.Errorf("read the %s of %s with the job's login: %w", what, name, err)
		}
		rep.Reads = append(rep.Reads, Read{What: what, Credential: name, Allowed: allowed, Published: exists, Want: want})
		if what == ReadToken && allowed {
			rep.Readable = append(rep.Readable, name)
		}
		return nil
	}
	kinds := []struct{ what, kind string }{
		{ReadToken, vaultstore.KindTokens},
		{ReadSecret, vaultstore.KindCredentials},
		{ReadPending, vaultstore.KindPending},
		{ReadState, vaultstore.KindState},
		{ReadLedger, vaultstore.KindLedger},
	}
	for _, c := range cfg.Credentials {
		for _, k := range kinds {
			want := k.what == ReadToken && slices.Contains(expected, c.Name)
			allowed, exists, err := s.ReadAllowed(ctx, k.kind, c.Name)
			if err := record(k.what, c.Name, want, allowed, exists, err); err != nil {
				return err
			}
		}
	}
	for _, l := range []struct{ what, kind string }{{ReadCredentialList, vaultstore.KindCredentials}, {ReadTokenList, vaultstore.KindTokens}} {
		allowed, exists, err := s.ListAllowed(ctx, l.kind)
		if err := record(l.what, "", false, allowed, exists, err); err != nil {
			return err
		}
	}
	return nil
}

func declared(cfg *config.Config) string {
	if len(cfg.CIAccess) == 0 {
		return " (it declares none)"
	}
	names := make([]string, len(cfg.CIAccess))
	for i, a := range cfg.CIAccess {
		names[i] = a.Name
	}
	return fmt.Sprintf(" (it declares %v)", names)
}
