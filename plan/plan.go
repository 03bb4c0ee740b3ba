package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/credkeeper/credkeeper/config"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/policies"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// Action is what a change does.
type Action string

// The actions of a plan, with the symbols Terraform users know.
const (
	ActionCreate Action = "create" // +
	ActionUpdate Action = "update" // ~
	ActionDelete Action = "delete" // -
)

// Symbol is the action's one-character mark.
func (a Action) Symbol() string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionUpdate:
		return "~"
	case ActionDelete:
		return "-"
	}
	return "?"
}

// Change types.
const (
	TypeCredential = "credential"
	TypePolicy     = "policy"
	// TypeRecords is the records a credential no longer in Vault left
	// behind (a silence, a rotation, its state): apply --prune removes them.
	TypeRecords = "records"
)

// PlanFormatVersion is the version of the saved plan's format.
const PlanFormatVersion = 1

// Plan is what apply would change in Vault to make it match the config.
// It is data: rendered by RenderPlan, saved as JSON by --out.
type Plan struct {
	FormatVersion int       `json:"format_version"`
	Mount         string    `json:"mount"`
	Prefix        string    `json:"prefix"`
	CreatedAt     time.Time `json:"created_at"`
	Changes       []Change  `json:"changes"`
	Notes         []Note    `json:"notices"`
}

// Change is one planned change, with what it was computed against.
type Change struct {
	Action Action `json:"action"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	// Fields are the credential metadata fields that change, old and new.
	Fields []FieldChange `json:"fields,omitempty"`
	// Metadata is the credential's metadata after the change.
	Metadata *PlannedMetadata `json:"metadata,omitempty"`
	// Policy is the policy text after the change; Diff, the unified diff.
	Policy string `json:"policy,omitempty"`
	Diff   string `json:"diff,omitempty"`
	// Records are what a deletion removes, each as KIND/NAME
	// ("silences/legacy"): every record kept for the credential.
	Records []string `json:"records,omitempty"`
	// Mount is a CI role's auth mount; Role, its data after the change
	// (Fields show each field's old and new value, as JSON).
	Mount string         `json:"mount,omitempty"`
	Role  map[string]any `json:"role,omitempty"`
	// Version is the credential's KV version the change was computed against.
	Version int `json:"version"`
	// Fingerprint identifies the state the change was computed against
	// ("" when the thing did not exist); apply refuses when it moved.
	Fingerprint string `json:"fingerprint"`
	Note        string `json:"note,omitempty"`
}

// FieldChange is one metadata field's old and new value.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// PlannedMetadata is a credential's metadata in a saved plan.
type PlannedMetadata struct {
	Provider    string `json:"provider,omitempty"`
	Environment string `json:"environment,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Rotation    string `json:"rotation,omitempty"`
	IssuedAt    string `json:"issued_at,omitempty"`
	RotateBy    string `json:"rotate_by,omitempty"`
	MaxVersions int    `json:"max_versions"`
}

// Note is an informational line: it changes nothing.
type Note struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Counts returns how many changes add, change and destroy.
func (p *Plan) Counts() (add, change, destroy int) {
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			add++
		case ActionUpdate:
			change++
		case ActionDelete:
			destroy++
		}
	}
	return
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 }

// Path is the change's place in Vault, for messages.
func (c Change) Path() string {
	switch c.Type {
	case TypePolicy:
		return "sys/policies/acl/" + c.Name
	case TypeRecords:
		return c.Name + "'s records"
	case TypeCIRole:
		return "auth/" + c.Mount + "/role/" + c.Name
	}
	return "credentials/" + c.Name
}

// LeftInPlace says that a deletion was skipped, for apply without --prune.
func (c Change) LeftInPlace() string {
	if c.Type == TypeRecords {
		return fmt.Sprintf("%s (%s) were left in place; apply --prune deletes them.", c.Path(), strings.Join(c.Records, ", "))
	}
	return c.Path() + " is not declared in the configuration and was left in place; apply --prune deletes it."
}

// MakePlan compares the config with what Vault holds and returns the
// changes that would make Vault match. It writes nothing.
func MakePlan(ctx context.Context, store *vaultstore.Store, cfg *config.Config, now time.Time) (*Plan, error) {
	p := &Plan{FormatVersion: PlanFormatVersion, Mount: store.Mount(), Prefix: store.Prefix(), CreatedAt: now.UTC().Truncate(time.Second), Changes: []Change{}, Notes: []Note{}}
	infos, err := store.ListCredentials(ctx)
	if err != nil {
		return nil, err
	}
	inVault := make(map[string]vaultstore.CredentialInfo, len(infos))
	for _, in := range infos {
		inVault[in.Name] = in
	}
	if err := p.planDeclared(ctx, store, cfg, inVault, now); err != nil {
		return nil, err
	}
	records, err := store.Records(ctx)
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, c := range cfg.Credentials {
		declared[c.Name] = true
	}
	p.Changes = append(p.Changes, undeclaredChanges(infos, declared, records)...)
	p.Changes = append(p.Changes, leftoverRecordChanges(records, inVault, declared)...)
	if err := p.planPolicies(ctx, store, cfg); err != nil {
		return nil, err
	}
	if err := p.planCIAccess(ctx, store, cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// planDeclared adds the change and the notes of every declared
// credential, a staged pair's note among them.
func (p *Plan) planDeclared(ctx context.Context, store *vaultstore.Store, cfg *config.Config, inVault map[string]vaultstore.CredentialInfo, now time.Time) error {
	hasPending, err := store.Staged(ctx)
	if err != nil {
		return err
	}
	for _, c := range cfg.Credentials {
		cur, exists := inVault[c.Name]
		var curInfo *vaultstore.CredentialInfo
		if exists {
			curInfo = &cur
		}
		change, want := planCredential(c, curInfo)
		if change != nil {
			p.Changes = append(p.Changes, *change)
		}
		p.Notes = append(p.Notes, credentialNotes(c, want, exists && cur.Version > 0, cfg, now)...)
		if exists && hasPending[c.Name] {
			if err := p.notePending(ctx, store, c.Name, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// notePending adds a note on the pair staged for name, if it is still
// there.
func (p *Plan) notePending(ctx context.Context, store *vaultstore.Store, name string, now time.Time) error {
	pend, err := store.PendingInfo(ctx, name)
	switch {
	case err == nil:
		p.Notes = append(p.Notes, Note{Name: name, Message: pendingNote(pend, now)})
	case !errors.Is(err, vaultstore.ErrNotFound):
		return err
	}
	return nil
}

// undeclaredChanges are the deletions of the credentials in Vault that the
// configuration does not declare, with their records.
func undeclaredChanges(infos []vaultstore.CredentialInfo, declared map[string]bool, records map[string][]string) []Change {
	var changes []Change
	for _, in := range infos {
		if declared[in.Name] {
			continue
		}
		changes = append(changes, Change{
			Action: ActionDelete, Type: TypeCredential, Name: in.Name, Metadata: planned(in.Metadata, in.MaxVersions),
			Version: in.Version, Fingerprint: in.Fingerprint, Records: records[in.Name],
			Note: "not declared in the configuration; deleted only by apply --prune",
		})
	}
	return changes
}

// leftoverRecordChanges are the deletions of the records of a name neither
// declared nor in Vault's credentials: left behind by a credential deleted
// by other means. A credential of that name created later would inherit
// them (a silence, above all).
func leftoverRecordChanges(records map[string][]string, inVault map[string]vaultstore.CredentialInfo, declared map[string]bool) []Change {
	var changes []Change
	for _, name := range slices.Sorted(maps.Keys(records)) {
		if _, exists := inVault[name]; exists || declared[name] {
			continue
		}
		changes = append(changes, Change{
			Action: ActionDelete, Type: TypeRecords, Name: name, Records: records[name],
			Note: "kept for a credential no longer in Vault; deleted only by apply --prune",
		})
	}
	return changes
}

// planPolicies adds the changes that make Vault's managed ACL policies
// match the configuration.
func (p *Plan) planPolicies(ctx context.Context, store *vaultstore.Store, cfg *config.Config) error {
	managed, err := rolePolicies(cfg, store)
	if err != nil {
		return err
	}
	for _, mp := range managed {
		c, err := planPolicy(ctx, store, mp)
		if err != nil {
			return err
		}
		if c != nil {
			p.Changes = append(p.Changes, *c)
		}
	}
	return nil
}

// ManagedPolicies are the Vault ACL policies cfg's vault_policies block
// asks for (none without the block), then those of its ci_access blocks,
// generated for store's mount and prefix.
func ManagedPolicies(cfg *config.Config, store *vaultstore.Store) ([]policies.ManagedPolicy, error) {
	out, err := rolePolicies(cfg, store)
	if err != nil {
		return nil, err
	}
	for _, r := range CIRoles(cfg, store) {
		out = append(out, policies.ManagedPolicy{Name: r.PolicyName, Role: config.RoleCI, Text: r.Policy, Scope: r.Credentials})
	}
	return out, nil
}

// rolePolicies are the policies of cfg's vault_policies block, if any.
func rolePolicies(cfg *config.Config, store *vaultstore.Store) ([]policies.ManagedPolicy, error) {
	if cfg.VaultPolicies == nil {
		return nil, nil
	}
	return policies.Documents(*cfg.VaultPolicies, store.Mount(), store.Prefix(), cfg.AutoRotated()...)
}

// planCredential is the change a declared credential needs (nil when
// none), given what Vault holds (nil when nothing), and the metadata the
// config asks for.
func planCredential(c *config.Credential, cur *vaultstore.CredentialInfo) (*Change, vaultstore.CredentialMetadata) {
	if cur == nil {
		want := desiredMetadata(c, nil)
		target := planned(want, vaultstore.MinMaxVersions)
		return &Change{
			Action: ActionCreate, Type: TypeCredential, Name: c.Name, Metadata: target,
			Fields: fieldChanges(PlannedMetadata{}, *target),
			Note:   "metadata only: set its secret afterwards with credkeeper secret set " + c.Name,
		}, want
	}
	want := desiredMetadata(c, &cur.Metadata)
	target := planned(want, max(cur.MaxVersions, vaultstore.MinMaxVersions))
	fields := fieldChanges(*planned(cur.Metadata, cur.MaxVersions), *target)
	if len(fields) == 0 {
		return nil, want
	}
	return &Change{
		Action: ActionUpdate, Type: TypeCredential, Name: c.Name, Metadata: target, Fields: fields,
		Version: cur.Version, Fingerprint: cur.Fingerprint,
	}, want
}

// desiredMetadata is the metadata the config asks for: what it declares,
// over what Vault holds. Attributes the config leaves out (owner,
// rotate_by) and issued_at, which only a new secret sets, are kept.
func desiredMetadata(c *config.Credential, cur *vaultstore.CredentialMetadata) vaultstore.CredentialMetadata {
	var md vaultstore.CredentialMetadata
	if cur != nil {
		md = *cur
	}
	md.Provider = c.Provider
	md.Rotation = c.Rotation
	if c.Environment != "" {
		md.Environment = c.Environment
	}
	if c.Owner != "" {
		md.Owner = c.Owner
	}
	if !c.RotateBy.IsZero() {
		md.RotateBy = c.RotateBy
	}
	return md
}

func planned(m vaultstore.CredentialMetadata, maxVersions int) *PlannedMetadata {
	return &PlannedMetadata{
		Provider: m.Provider, Environment: m.Environment, Owner: m.Owner, Rotation: m.Rotation,
		IssuedAt: dates.Format(m.IssuedAt), RotateBy: dates.Format(m.RotateBy), MaxVersions: maxVersions,
	}
}

// toMetadata is the vaultstore form of planned metadata.
func (m PlannedMetadata) toMetadata() (vaultstore.CredentialMetadata, error) {
	md := vaultstore.CredentialMetadata{Provider: m.Provider, Environment: m.Environment, Owner: m.Owner, Rotation: m.Rotation}
	var err error
	if md.IssuedAt, err = dates.Parse(m.IssuedAt); err != nil {
		return md, err
	}
	md.RotateBy, err = dates.Parse(m.RotateBy)
	return md, err
}

func fieldChanges(old, new PlannedMetadata) []FieldChange {
	var out []FieldChange
	add := func(field, o, n string) {
		if o != n {
			out = append(out, FieldChange{Field: field, Old: o, New: n})
		}
	}
	add("provider", old.Provider, new.Provider)
	add("environment", old.Environment, new.Environment)
	add("owner", old.Owner, new.Owner)
	add("rotation", old.Rotation, new.Rotation)
	add("issued_at", old.IssuedAt, new.IssuedAt)
	add("rotate_by", old.RotateBy, new.RotateBy)
	if old.MaxVersions != new.MaxVersions {
		o := fmt.Sprint(old.MaxVersions)
		if old.MaxVersions == 0 && old.Provider == "" && old.Rotation == "" {
			o = ""
		}
		out = append(out, FieldChange{Field: "max_versions", Old: o, New: fmt.Sprint(new.MaxVersions)})
	}
	return out
}

// credentialNotes are the plan's informational lines for a credential.
func credentialNotes(c *config.Credential, md vaultstore.CredentialMetadata, hasSecret bool, cfg *config.Config, now time.Time) []Note {
	var out []Note
	if !hasSecret {
		out = append(out, Note{Name: c.Name, Message: "has no secret in Vault yet: set it with credkeeper secret set " + c.Name})
	}
	rotateBy := md.RotateBy
	if ar := c.AutoRotate; ar != nil {
		when := "once its deadline is set"
		if !rotateBy.IsZero() {
			when = "from " + dates.Format(rotateBy.Add(-ar.StartBefore))
		}
		out = append(out, Note{Name: c.Name, Message: fmt.Sprintf("rotates by itself through Okta (app %s) %s: a new secret is created, proven and promoted, and the old one deleted after a %s overlap", ar.AppID, when, dates.ShortDuration(ar.Overlap))})
	}
	if rotateBy.IsZero() {
		return out
	}
	policy := cfg.RotationPolicyFor(c.Name, "")
	left := rotateBy.Sub(now)
	days := policies.CalendarDays(now, rotateBy)
	switch {
	case left < 0:
		out = append(out, Note{Name: c.Name, Message: fmt.Sprintf("is past its rotation deadline (%s, %d days ago): request the new pair", dates.Format(rotateBy), -days)})
	case left <= policy.FirstReminder():
		out = append(out, Note{Name: c.Name, Message: fmt.Sprintf("rotation deadline %s is in %d days, inside the %s policy's first reminder (%d days)", dates.Format(rotateBy), days, policy.Name, int(policy.FirstReminder().Hours()/24))})
	}
	return out
}

// pendingNote describes a staged pair: "pending: ok, checked 2h ago".
func pendingNote(p *vaultstore.PendingInfo, now time.Time) string {
	switch {
	case p.LastClass == "":
		return fmt.Sprintf("has a new pair staged on %s, not checked yet", dates.FormatTime(p.StagedAt))
	case p.LastClass == string(oauthcheck.ClassOK):
		return fmt.Sprintf("pending: ok, checked %s ago; promote it with credkeeper rotate promote", ago(now.Sub(p.CheckedAt)))
	}
	return fmt.Sprintf("pending: %s, checked %s ago; stage a pair that works", p.LastClass, ago(now.Sub(p.CheckedAt)))
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func planPolicy(ctx context.Context, store *vaultstore.Store, mp policies.ManagedPolicy) (*Change, error) {
	name, want := mp.Name, mp.Text
	note := "the " + mp.Role + " role"
	if len(mp.Scope) > 0 {
		note = "CI, for the tokens of " + strings.Join(mp.Scope, ", ")
	}
	cur, err := store.ReadPolicy(ctx, name)
	switch {
	case errors.Is(err, vaultstore.ErrNotFound):
		return &Change{Action: ActionCreate, Type: TypePolicy, Name: name, Policy: want, Note: note}, nil
	case err != nil:
		return nil, err
	case cur == want:
		return nil, nil
	}
	if err := checkNotAnothersCIPolicy(store, name, cur); err != nil {
		return nil, err
	}
	diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(ensureNewline(cur)), B: difflib.SplitLines(want),
		FromFile: "vault", ToFile: "config", Context: 2,
	})
	return &Change{Action: ActionUpdate, Type: TypePolicy, Name: name, Policy: want, Diff: diff,
		Fingerprint: textFingerprint(cur), Note: note}, nil
}

// checkNotAnothersCIPolicy refuses to overwrite a policy marked as the
// CI access credkeeper made for another mount or prefix: taking it over
// would hand that configuration's CI jobs this one's tokens, and the two
// would overwrite each other at every apply.
func checkNotAnothersCIPolicy(store *vaultstore.Store, name, cur string) error {
	first, _, _ := strings.Cut(cur, "\n")
	if !strings.HasPrefix(first, policies.CIPolicyMarker) {
		return nil
	}
	if _, ours := policies.CIPolicyFor(cur, store.Mount(), store.Prefix()); ours {
		return nil
	}
	return fmt.Errorf("policy %q is a CI access policy credkeeper made for another mount or prefix (%q), not for %s/%s: credkeeper does not take it over; name this configuration's policies otherwise (vault_policies' ci) or remove it there", name, strings.TrimPrefix(first, "# "), store.Mount(), store.Prefix())
}

func ensureNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func textFingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// SavePlan writes the plan as JSON to path with mode 0600.
func SavePlan(path string, p *Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// LoadPlan reads a plan saved by SavePlan.
func LoadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the saved plan: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s is not a saved plan: %w", path, err)
	}
	if p.FormatVersion != PlanFormatVersion {
		return nil, fmt.Errorf("%s is a plan of format %d; this credkeeper reads format %d: run plan again", path, p.FormatVersion, PlanFormatVersion)
	}
	return &p, nil
}
