package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/robfig/cron/v3"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/credkeeper/credkeeper/internal/credname"
	"github.com/credkeeper/credkeeper/internal/dates"
)

// Defaults of the language.
const (
	DefaultMount  = "secret"
	DefaultPrefix = "credkeeper"
	DefaultCheck  = "@every 1h"
	// DefaultRotationPeriod is how long a pair lives when no rotate_by is set.
	DefaultRotationPeriod = 365 * 24 * time.Hour
)

// Config is a decoded, validated configuration file.
type Config struct {
	Vault       Vault
	Providers   map[string]*Provider // the provider blocks, by name (presets are not listed)
	Credentials []*Credential        // in file order
	// RotationPolicies by name, the built-in "yearly" included.
	RotationPolicies map[string]*RotationPolicy
	// VaultPolicies names the Vault ACL policies credkeeper manages; nil
	// when the file has no vault_policies block (then it manages none).
	VaultPolicies *VaultPolicyNames
	// Daemon is the daemon block, with defaults.
	Daemon Daemon
	// Notifiers by name, and the notifications block.
	Notifiers     map[string]*Notifier
	Notifications Notifications
	// CIAccess are the ci_access blocks, in file order: the CI jobs that
	// log in to Vault with their own identity to read some tokens.
	CIAccess []CIAccess
	Filename string
	// Warnings are diagnostics that do not stop the file from loading,
	// rendered as file:line:col lines for validate to print.
	Warnings []string

	byName            map[string]*Credential // Credentials by name
	declaredRotation  map[string]bool        // rotation_policy blocks seen, for duplicates
	checkTimeoutRange *hcl.Range             // where check_timeout was set, for diagnostics
	// lookups counts Credential and Provider calls (Lookups).
	lookups struct{ credential, provider atomic.Int64 }
	// budgetGroups are the providers' budget groups, made on first use.
	budgetGroups     []BudgetGroup
	budgetGroupsOnce sync.Once
}

// Lookups is how many times Credential and Provider have been called on
// c: what a caller's tests read to bound how often it resolves a
// credential by its name (the daemon, once per check at most).
func (c *Config) Lookups() (credential, provider int64) {
	return c.lookups.credential.Load(), c.lookups.provider.Load()
}

// Vault is the vault block.
type Vault struct {
	Address string // empty: VAULT_ADDR
	Mount   string
	Prefix  string
	Auth    VaultAuth
	// The auth mounts ci_access roles are written under (see CIAccess):
	// by default jwt-github, jwt-gitlab and kubernetes.
	GitHubJWTMount  string
	GitLabJWTMount  string
	KubernetesMount string
	// GitHubIssuer and GitLabIssuer are the OIDC issuers the JWT mounts
	// are expected to trust: https://token.actions.githubusercontent.com
	// and https://gitlab.com unless the vault block says otherwise (GitHub
	// Enterprise Server, a GitLab of one's own).
	GitHubIssuer string
	GitLabIssuer string
}

// VaultAuth is the vault block's auth block.
type VaultAuth struct {
	Method          string // "token", "approle" or "kubernetes"
	Mount           string // the auth mount; the method's name when empty
	RoleIDFile      string
	SecretIDFile    string
	SecretIDWrapped bool
	Role            string
	JWTFile         string
}

// Credential is a credential block.
type Credential struct {
	Name        string
	Provider    string
	Environment string
	Owner       string
	Rotation    string        // a rotation_policy's name; "yearly" by default
	Check       string        // the cron expression as written
	Schedule    cron.Schedule // Check, parsed
	RotateBy    time.Time     // zero: issued_at + 365 days
	// PublishToken, when set, keeps a live access token in tokens/NAME.
	PublishToken *PublishToken
	// Grant is "client_credentials" (the default) or "authorization_code":
	// a user grant, whose long-lived token is obtained once by
	// credkeeper authorize, stored, and checked against the provider's probe.
	Grant       string
	Scopes      []string // a user grant's scopes
	RedirectURI string   // a user grant's redirect URI, as registered with the provider
	Notify      []string // notifiers for reminders and alerts
	Page        []string // notifiers that page on-call, for page environments
	// AutoRotate, when set, rotates the secret through the provider's API.
	AutoRotate *AutoRotate
	// Account is the provider's user account the pair belongs to (CTRP
	// issues a pair to an Okta user account), named in a request for a
	// new pair.
	Account string
	// FollowUpAfter is how long a request for a new pair may go with no
	// pair staged before a follow-up is due (DefaultFollowUpAfter).
	FollowUpAfter time.Duration
	DeclRange     hcl.Range
}

// Channels is every notifier the credential names, its notify channels
// then its page channels, each once: a notice meant for all of them (a
// rotation told) reaches a channel named in both lists once.
func (c *Credential) Channels() []string {
	out := make([]string, 0, len(c.Notify)+len(c.Page))
	for _, name := range append(append([]string{}, c.Notify...), c.Page...) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// AutoRotate is a credential's auto_rotate block: rotation without a
// person, through Okta's client secrets API (an app may hold two secrets,
// both active, so the new one is proven before the old one goes).
type AutoRotate struct {
	OktaOrgURL   string
	AppID        string
	APITokenFile string
	// Overlap is how long both secrets stay active after the promotion.
	Overlap time.Duration
	// StartBefore is how long before rotate_by the daemon begins.
	StartBefore time.Duration
}

// AutoRotate defaults.
const (
	DefaultAutoRotateOverlap     = 7 * 24 * time.Hour
	DefaultAutoRotateStartBefore = 14 * 24 * time.Hour
)

// Grant types.
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
)

// PublishToken is a credential's publish_token block.
type PublishToken struct {
	// RenewBefore: a published token is replaced when less than this (or a
	// third of its lifetime, whichever is larger) is left.
	RenewBefore time.Duration
}

// DefaultRenewBefore is publish_token's default renew_before.
const DefaultRenewBefore = 10 * time.Minute

// Daemon is the daemon block.
type Daemon struct {
	Parallel     int           // checks at once (default 8)
	CheckTimeout time.Duration // bounds one check, Vault writes included (default 30s)
	LeaseTTL     time.Duration // the leader lease's lifetime (default 30s)
	// FirstCheckWithin: a credential not checked for an interval is first
	// checked within this of the daemon's start (default 1m).
	FirstCheckWithin time.Duration
}

// Daemon defaults.
const (
	DefaultParallel     = 8
	DefaultCheckTimeout = 30 * time.Second
	DefaultLeaseTTL     = 30 * time.Second
	// DefaultFirstCheckWithin is first_check_within's default.
	DefaultFirstCheckWithin = time.Minute
)

// Default is the configuration used when there is no file: presets only,
// Vault from the environment.
func Default() *Config {
	return &Config{
		Vault: Vault{Mount: DefaultMount, Prefix: DefaultPrefix, Auth: VaultAuth{Method: "token"},
			GitHubJWTMount: DefaultGitHubJWTMount, GitLabJWTMount: DefaultGitLabJWTMount, KubernetesMount: DefaultKubernetesMount,
			GitHubIssuer: DefaultGitHubIssuer, GitLabIssuer: DefaultGitLabIssuer},
		Providers:        map[string]*Provider{},
		RotationPolicies: map[string]*RotationPolicy{DefaultRotationPolicy: Yearly()},
		Daemon:           Daemon{Parallel: DefaultParallel, CheckTimeout: DefaultCheckTimeout, LeaseTTL: DefaultLeaseTTL, FirstCheckWithin: DefaultFirstCheckWithin},
		Notifiers:        map[string]*Notifier{},
		Notifications:    Notifications{PageEnvironments: DefaultPageEnvironments, OpsAfter: DefaultOpsAfter, MaxSilence: DefaultMaxSilence},
	}
}

// Provider returns the provider of that name: a provider block, else a preset.
func (c *Config) Provider(name string) (*Provider, bool) {
	c.lookups.provider.Add(1)
	if p, ok := c.Providers[name]; ok {
		return p, true
	}
	if p, ok := Preset(name); ok {
		return &p, true
	}
	return nil, false
}

// MaxInFlight is how many checks of the named provider (a provider block
// or a preset) may run at once: its max_in_flight, by default half of the
// daemon's parallel, never fewer than one nor more than parallel.
func (c *Config) MaxInFlight(provider string) int {
	parallel := max(c.Daemon.Parallel, 1)
	n := max(parallel/2, 1)
	if p, ok := c.Providers[provider]; ok && p.MaxInFlight > 0 {
		n = p.MaxInFlight
	}
	return min(n, parallel)
}

// AutoRotated names the credentials with an auto_rotate block, in file order.
func (c *Config) AutoRotated() []string {
	var out []string
	for _, cr := range c.Credentials {
		if cr.AutoRotate != nil {
			out = append(out, cr.Name)
		}
	}
	return out
}

// Credential returns the credential block of that name.
func (c *Config) Credential(name string) (*Credential, bool) {
	c.lookups.credential.Add(1)
	cr, ok := c.byName[name]
	return cr, ok
}

// Load reads and decodes a configuration file. Its error, if any, is a
// *DiagnosticsError that renders every problem with file:line:col and a snippet.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("configuration file %s does not exist: pass --config FILE or set CREDKEEPER_CONFIG", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	cfg, diags := Parse(src, path)
	sources := map[string][]byte{path: src}
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags, Sources: sources}
	}
	for _, d := range diags {
		var b strings.Builder
		writeDiagnostic(&b, d, sources)
		cfg.Warnings = append(cfg.Warnings, strings.TrimSuffix(b.String(), "\n"))
	}
	return cfg, nil
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "vault"},
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "credential", LabelNames: []string{"name"}},
		{Type: "rotation_policy", LabelNames: []string{"name"}},
		{Type: "vault_policies"},
		{Type: "daemon"},
		{Type: "notifier", LabelNames: []string{"type", "name"}},
		{Type: "notifications"},
		{Type: "ci_access", LabelNames: []string{"name"}},
	},
}

var daemonSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "parallel"}, {Name: "check_timeout"}, {Name: "lease_ttl"}, {Name: "first_check_within"}},
}

var publishTokenSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "renew_before"}},
}

var vaultSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address"}, {Name: "mount"}, {Name: "prefix"},
		{Name: "github_jwt_mount"}, {Name: "gitlab_jwt_mount"}, {Name: "kubernetes_mount"},
		{Name: "github_issuer"}, {Name: "gitlab_issuer"}},
	Blocks: []hcl.BlockHeaderSchema{{Type: "auth", LabelNames: []string{"method"}}},
}

var authSchemas = map[string]*hcl.BodySchema{
	"token": {},
	"approle": {Attributes: []hcl.AttributeSchema{
		{Name: "role_id_file", Required: true}, {Name: "secret_id_file", Required: true},
		{Name: "secret_id_wrapped"}, {Name: "mount"},
	}},
	"kubernetes": {Attributes: []hcl.AttributeSchema{
		{Name: "role", Required: true}, {Name: "jwt_file"}, {Name: "mount"},
	}},
}

var providerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "token_url"}, {Name: "auth_style"}, {Name: "scopes"}, {Name: "timeout"}, {Name: "environment"}, {Name: "max_token_ttl"},
		{Name: "authorize_url"}, {Name: "pkce"}, {Name: "insecure_http"}, {Name: "requests_per_second"},
		{Name: "max_in_flight"}, {Name: "budget_group"}},
	Blocks: []hcl.BlockHeaderSchema{{Type: "probe"}, {Type: "support"}},
}

var probeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "url", Required: true}, {Name: "method"}},
}

var credentialSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "provider", Required: true}, {Name: "environment"}, {Name: "owner"}, {Name: "check"}, {Name: "rotate_by"},
		{Name: "rotation"}, {Name: "grant"}, {Name: "scopes"}, {Name: "redirect_uri"}, {Name: "notify"}, {Name: "page"},
		{Name: "account"}, {Name: "follow_up_after"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "publish_token"}, {Type: "auto_rotate"}},
}

var autoRotateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "okta_org_url", Required: true}, {Name: "app_id", Required: true}, {Name: "api_token_file", Required: true},
		{Name: "overlap"}, {Name: "start_before"},
	},
}

// Parse decodes configuration source. filename is used in diagnostics.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	content, diags := file.Body.Content(rootSchema)
	cfg := Default()
	cfg.Filename = filename
	credBlocks, ciBlocks, d := decodeRootBlocks(content.Blocks, cfg)
	diags = append(diags, d...)
	// Credentials last, so that they may name providers and rotation
	// policies declared below them.
	channels := map[*Credential]hcl.Attributes{}
	for _, b := range credBlocks {
		diags = append(diags, decodeCredential(b, cfg, channels)...)
	}
	diags = append(diags, checkChannels(cfg, channels)...)
	diags = append(diags, checkSupportVia(cfg)...)
	diags = append(diags, checkTimeouts(cfg)...)
	diags = append(diags, checkBudgetGroups(cfg)...)
	// CI access last: it names credentials and the CI policies' names.
	for _, b := range ciBlocks {
		diags = append(diags, decodeCIAccess(b, cfg)...)
	}
	return cfg, diags
}

// singleBlocks are the top-level blocks a file may hold only once.
var singleBlocks = map[string]bool{"notifications": true, "daemon": true, "vault_policies": true, "vault": true}

// decodeRootBlocks decodes every top-level block into cfg but the
// credentials and the ci_access blocks, which it returns for decoding once
// all else is known.
func decodeRootBlocks(blocks hcl.Blocks, cfg *Config) (credBlocks, ciBlocks []*hcl.Block, diags hcl.Diagnostics) {
	firstAt := map[string]hcl.Range{}
	for _, b := range blocks {
		if singleBlocks[b.Type] {
			if first, seen := firstAt[b.Type]; seen {
				diags = append(diags, errAt(b.DefRange, "Duplicate "+b.Type+" block", "Only one %s block is allowed; the first is at %s.", b.Type, rangeStart(first)))
				continue
			}
			firstAt[b.Type] = b.DefRange
		}
		switch b.Type {
		case "notifier":
			diags = append(diags, decodeNotifier(b, cfg)...)
		case "notifications":
			diags = append(diags, decodeNotifications(b, &cfg.Notifications)...)
		case "daemon":
			diags = append(diags, decodeDaemon(b, &cfg.Daemon)...)
			if a := b.Body.(*hclsyntax.Body).Attributes["check_timeout"]; a != nil {
				cfg.checkTimeoutRange = a.Expr.Range().Ptr()
			}
		case "rotation_policy":
			diags = append(diags, decodeRotationPolicy(b, cfg)...)
		case "vault_policies":
			diags = append(diags, decodeVaultPolicies(b, cfg)...)
		case "vault":
			diags = append(diags, decodeVault(b.Body, &cfg.Vault)...)
		case "provider":
			diags = append(diags, decodeProvider(b, cfg)...)
		case "credential":
			credBlocks = append(credBlocks, b)
		case "ci_access":
			ciBlocks = append(ciBlocks, b)
		}
	}
	return credBlocks, ciBlocks, diags
}

func decodeVault(body hcl.Body, v *Vault) hcl.Diagnostics {
	content, diags := body.Content(vaultSchema)
	diags = append(diags, optString(content.Attributes["address"], &v.Address)...)
	diags = append(diags, optString(content.Attributes["mount"], &v.Mount)...)
	diags = append(diags, optString(content.Attributes["prefix"], &v.Prefix)...)
	v.Mount = strings.Trim(v.Mount, "/")
	v.Prefix = strings.Trim(v.Prefix, "/")
	diags = append(diags, decodeCIMounts(content.Attributes, v)...)
	if a := content.Attributes["mount"]; a != nil && v.Mount == "" {
		diags = append(diags, errAt(a.Expr.Range(), "Empty mount", "The KV v2 mount may not be empty; the default is %q.", DefaultMount))
	}
	if a := content.Attributes["prefix"]; a != nil && v.Prefix == "" {
		diags = append(diags, errAt(a.Expr.Range(), "Empty prefix", "The prefix may not be empty; the default is %q.", DefaultPrefix))
	}
	for _, f := range []struct {
		attr, value string
	}{{"mount", v.Mount}, {"prefix", v.Prefix}} {
		if a := content.Attributes[f.attr]; a != nil && f.value != "" {
			if err := CheckVaultFolder(f.attr, f.value); err != nil {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid "+f.attr, "%s.", capitalize(err.Error())))
			}
		}
	}

	var authSeen *hcl.Range
	for _, b := range content.Blocks {
		if authSeen != nil {
			diags = append(diags, errAt(b.DefRange, "Duplicate auth block", "Only one auth block is allowed; the first is at %s.", rangeStart(*authSeen)))
			continue
		}
		authSeen = b.DefRange.Ptr()
		method := b.Labels[0]
		schema, ok := authSchemas[method]
		if !ok {
			diags = append(diags, errAt(b.LabelRanges[0], "Unknown auth method", "%q is not an auth method credkeeper knows: use \"token\", \"approle\" or \"kubernetes\".", method))
			continue
		}
		ac, d := b.Body.Content(schema)
		diags = append(diags, d...)
		a := VaultAuth{Method: method}
		diags = append(diags, optString(ac.Attributes["mount"], &a.Mount)...)
		diags = append(diags, optString(ac.Attributes["role_id_file"], &a.RoleIDFile)...)
		diags = append(diags, optString(ac.Attributes["secret_id_file"], &a.SecretIDFile)...)
		diags = append(diags, optBool(ac.Attributes["secret_id_wrapped"], &a.SecretIDWrapped)...)
		diags = append(diags, optString(ac.Attributes["role"], &a.Role)...)
		diags = append(diags, optString(ac.Attributes["jwt_file"], &a.JWTFile)...)
		v.Auth = a
	}
	return diags
}

func decodeProvider(b *hcl.Block, cfg *Config) hcl.Diagnostics {
	name := b.Labels[0]
	content, diags := b.Body.Content(providerSchema)
	if _, ok := cfg.Providers[name]; ok {
		return append(diags, errAt(b.LabelRanges[0], "Duplicate provider", "A provider named %q is declared twice.", name))
	}
	p, isPreset := Preset(name)
	p.Name = name
	if !isPreset {
		p.Timeout = DefaultProviderTimeout
	}
	diags = append(diags, optString(content.Attributes["token_url"], &p.TokenURL)...)
	diags = append(diags, optString(content.Attributes["auth_style"], &p.AuthStyle)...)
	diags = append(diags, optString(content.Attributes["environment"], &p.Environment)...)
	diags = append(diags, optStringList(content.Attributes["scopes"], &p.Scopes)...)
	diags = append(diags, optDurationIn(content.Attributes["timeout"], &p.Timeout, time.Second, MaxProviderTimeout)...)
	if a := content.Attributes["timeout"]; a != nil {
		p.timeoutRange = a.Expr.Range().Ptr()
	}
	diags = append(diags, optDurationIn(content.Attributes["max_token_ttl"], &p.MaxTokenTTL, time.Second, MaxMaxTokenTTL)...)
	diags = append(diags, optString(content.Attributes["authorize_url"], &p.AuthorizeURL)...)
	diags = append(diags, optBool(content.Attributes["pkce"], &p.PKCE)...)
	diags = append(diags, optBool(content.Attributes["insecure_http"], &p.InsecureHTTP)...)
	diags = append(diags, decodeProviderLimits(content.Attributes, &p)...)
	diags = append(diags, decodeBudgetGroup(content.Attributes, &p)...)
	if p.timeoutRange == nil {
		p.timeoutRange = b.DefRange.Ptr()
	}
	diags = append(diags, checkProviderEndpoints(b, content.Attributes, &p, isPreset)...)
	seen := map[string]bool{}
	for _, pb := range content.Blocks {
		if seen[pb.Type] {
			diags = append(diags, errAt(pb.DefRange, "Duplicate "+pb.Type+" block", "A provider has at most one %s block.", pb.Type))
			continue
		}
		seen[pb.Type] = true
		switch pb.Type {
		case "probe":
			diags = append(diags, decodeProbe(pb, &p)...)
		case "support":
			diags = append(diags, decodeSupport(pb, &p)...)
		}
	}
	cfg.Providers[name] = &p
	return diags
}

// decodeProviderLimits decodes a provider's request budget: its
// requests_per_second and max_in_flight.
func decodeProviderLimits(attrs hcl.Attributes, p *Provider) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if a := attrs["requests_per_second"]; a != nil {
		v, d := attrValue(a, cty.Number)
		diags = append(diags, d...)
		if v != cty.NilVal {
			f, _ := v.AsBigFloat().Float64()
			if f < 0.01 || f > 10000 {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid requests_per_second", "requests_per_second is %g; it must be from 0.01 to 10000.", f))
			} else {
				p.RequestsPerSecond = f
			}
		}
	}
	if a := attrs["max_in_flight"]; a != nil {
		v, d := attrValue(a, cty.Number)
		diags = append(diags, d...)
		if v != cty.NilVal {
			n, acc := v.AsBigFloat().Int64()
			if acc != 0 || n < 1 || n > 1024 {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid max_in_flight", "max_in_flight is %s; it must be a whole number from 1 to 1024 (at most parallel of them are used).", v.AsBigFloat().Text('g', -1)))
			} else {
				p.MaxInFlight = int(n)
			}
		}
	}
	return diags
}

// checkProviderEndpoints checks a provider's token endpoint, its auth
// style and its authorize URL; a preset may leave the first two out.
func checkProviderEndpoints(b *hcl.Block, attrs hcl.Attributes, p *Provider, isPreset bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	name := p.Name
	if !isPreset {
		if attrs["token_url"] == nil {
			diags = append(diags, errAt(b.DefRange, "Missing token_url", "Provider %q needs token_url, the URL of its token endpoint (only presets %s may leave it out).", name, strings.Join(PresetNames(), ", ")))
		}
		if attrs["auth_style"] == nil {
			diags = append(diags, errAt(b.DefRange, "Missing auth_style", "Provider %q needs auth_style: \"header\" (HTTP Basic, as Okta wants) or \"body\" (client_secret in the form, as Doorkeeper accepts).", name))
		}
	}
	switch a := attrs["auth_style"]; {
	case a == nil:
	case p.AuthStyle == AuthStylePrivateKeyJWT && isPreset && !p.KeyAuth:
		diags = append(diags, errAt(a.Expr.Range(), "Invalid auth_style", "Provider %q does not accept private_key_jwt: use \"header\" or \"body\" with a client secret.", name))
	case p.AuthStyle != AuthStyleHeader && p.AuthStyle != AuthStyleBody && p.AuthStyle != AuthStylePrivateKeyJWT:
		diags = append(diags, errAt(a.Expr.Range(), "Invalid auth_style", "%q is not an auth style: use \"header\" (HTTP Basic), \"body\" (client_secret in the form) or \"private_key_jwt\" (an assertion signed with the credential's key).", p.AuthStyle))
	}
	diags = append(diags, checkEndpointURL(attrs["token_url"], p.TokenURL, "token_url", p.InsecureHTTP)...)
	diags = append(diags, checkEndpointURL(attrs["authorize_url"], p.AuthorizeURL, "authorize_url", p.InsecureHTTP)...)
	return diags
}

func decodeProbe(b *hcl.Block, p *Provider) hcl.Diagnostics {
	content, diags := b.Body.Content(probeSchema)
	probe := &Probe{Method: ProbeGet}
	diags = append(diags, optString(content.Attributes["url"], &probe.URL)...)
	diags = append(diags, optString(content.Attributes["method"], &probe.Method)...)
	diags = append(diags, checkEndpointURL(content.Attributes["url"], probe.URL, "probe url", p.InsecureHTTP)...)
	probe.Method = strings.ToUpper(probe.Method)
	if a := content.Attributes["method"]; a != nil && probe.Method != ProbeGet && probe.Method != ProbeHead && probe.Method != ProbePost {
		diags = append(diags, errAt(a.Expr.Range(), "Invalid probe method", "%q is not a probe method: use GET, HEAD or POST.", probe.Method))
	}
	p.Probe = probe
	return diags
}

func decodeCredential(b *hcl.Block, cfg *Config, channels map[*Credential]hcl.Attributes) hcl.Diagnostics {
	name := b.Labels[0]
	content, diags := b.Body.Content(credentialSchema)
	if err := credname.Check(name); err != nil {
		diags = append(diags, errAt(b.LabelRanges[0], "Invalid credential name", "%s.", capitalize(err.Error())))
	}
	if prev, ok := cfg.Credential(name); ok {
		return append(diags, errAt(b.LabelRanges[0], "Duplicate credential", "A credential named %q is already declared at %s.", name, rangeStart(prev.DeclRange)))
	}
	c := &Credential{Name: name, Check: DefaultCheck, Rotation: DefaultRotationPolicy, Grant: GrantClientCredentials, FollowUpAfter: DefaultFollowUpAfter, DeclRange: b.DefRange}
	if cfg.byName == nil {
		cfg.byName = map[string]*Credential{}
	}
	cfg.byName[name] = c
	channels[c] = content.Attributes
	diags = append(diags, decodeCredentialGrant(b, content.Attributes, c)...)
	diags = append(diags, decodeCredentialRefs(content.Attributes, c, cfg)...)
	checkRange := b.DefRange
	if a := content.Attributes["check"]; a != nil {
		checkRange = a.Expr.Range()
	}
	c.Schedule, diags = decodeSchedule(c.Check, checkRange, diags)
	diags = append(diags, decodeRotateBy(content.Attributes["rotate_by"], c)...)
	diags = append(diags, optString(content.Attributes["account"], &c.Account)...)
	diags = append(diags, optDurationIn(content.Attributes["follow_up_after"], &c.FollowUpAfter, time.Hour, 365*24*time.Hour)...)
	diags = append(diags, decodeCredentialBlocks(content.Blocks, c, cfg)...)
	cfg.Credentials = append(cfg.Credentials, c)
	return diags
}

// decodeCredentialGrant decodes what a credential asks of its provider:
// the grant, scopes and redirect URI, and whom its notices go to.
func decodeCredentialGrant(b *hcl.Block, attrs hcl.Attributes, c *Credential) hcl.Diagnostics {
	var diags hcl.Diagnostics
	diags = append(diags, optString(attrs["grant"], &c.Grant)...)
	diags = append(diags, optStringList(attrs["scopes"], &c.Scopes)...)
	diags = append(diags, optString(attrs["redirect_uri"], &c.RedirectURI)...)
	diags = append(diags, optStringList(attrs["notify"], &c.Notify)...)
	diags = append(diags, optStringList(attrs["page"], &c.Page)...)
	if a := attrs["grant"]; a != nil && c.Grant != GrantClientCredentials && c.Grant != GrantAuthorizationCode {
		diags = append(diags, errAt(a.Expr.Range(), "Invalid grant", "%q is not a grant credkeeper keeps: use %q or %q.", c.Grant, GrantClientCredentials, GrantAuthorizationCode))
	}
	if c.Grant == GrantAuthorizationCode && attrs["redirect_uri"] == nil {
		diags = append(diags, errAt(b.DefRange, "Missing redirect_uri", "A user grant (grant = %q) needs redirect_uri, exactly as registered with the provider.", GrantAuthorizationCode))
	}
	return diags
}

// decodeCredentialRefs decodes the provider and rotation policy a
// credential names, which must exist, and its environment (the
// provider's unless set), owner and check schedule.
func decodeCredentialRefs(attrs hcl.Attributes, c *Credential, cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	diags = append(diags, optString(attrs["provider"], &c.Provider)...)
	diags = append(diags, optString(attrs["rotation"], &c.Rotation)...)
	if a := attrs["rotation"]; a != nil {
		if _, ok := cfg.RotationPolicies[c.Rotation]; !ok {
			diags = append(diags, errAt(a.Expr.Range(), "Unknown rotation policy", "No rotation_policy is named %q; declare one, or use the built-in %q.", c.Rotation, DefaultRotationPolicy))
		}
	}
	diags = append(diags, optString(attrs["environment"], &c.Environment)...)
	diags = append(diags, optString(attrs["owner"], &c.Owner)...)
	diags = append(diags, optString(attrs["check"], &c.Check)...)
	if a := attrs["provider"]; a != nil && c.Provider != "" {
		if p, ok := cfg.Provider(c.Provider); !ok {
			diags = append(diags, errAt(a.Expr.Range(), "Unknown provider", "No provider block or preset is named %q; the presets are %s.", c.Provider, strings.Join(PresetNames(), ", ")))
		} else if c.Environment == "" {
			c.Environment = p.Environment
		}
	}
	return diags
}

// decodeRotateBy decodes a credential's rotate_by date, if a is set.
func decodeRotateBy(a *hcl.Attribute, c *Credential) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	var s string
	if d := optString(a, &s); d.HasErrors() {
		return d
	}
	t, err := time.Parse(dates.Layout, s)
	if err != nil {
		return hcl.Diagnostics{errAt(a.Expr.Range(), "Invalid rotate_by", "%q is not a date: write it as YYYY-MM-DD.", s)}
	}
	c.RotateBy = t
	return nil
}

// decodeCredentialBlocks decodes a credential's publish_token and
// auto_rotate blocks, at most one of each.
func decodeCredentialBlocks(blocks hcl.Blocks, c *Credential, cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, pb := range blocks {
		if seen[pb.Type] {
			diags = append(diags, errAt(pb.DefRange, "Duplicate "+pb.Type+" block", "A credential has at most one %s block.", pb.Type))
			continue
		}
		seen[pb.Type] = true
		switch pb.Type {
		case "publish_token":
			diags = append(diags, decodePublishToken(pb, c, cfg)...)
		case "auto_rotate":
			diags = append(diags, decodeAutoRotate(pb, c)...)
		}
	}
	return diags
}

// decodeSchedule parses a check schedule, which must fire, and not more
// often than MinCheckInterval; r is where it was written.
func decodeSchedule(spec string, r hcl.Range, diags hcl.Diagnostics) (cron.Schedule, hcl.Diagnostics) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, append(diags, errAt(r, "Invalid check schedule", "%q is not a cron schedule (%v): use five fields such as \"*/30 * * * *\", or @every 1h, @daily.", spec, err))
	}
	return sched, append(diags, checkSchedule(sched, spec, r)...)
}

// decodePublishToken decodes a credential's publish_token block, and warns
// when renew_before is not shorter than the provider's tokens live.
func decodePublishToken(pb *hcl.Block, c *Credential, cfg *Config) hcl.Diagnostics {
	pc, diags := pb.Body.Content(publishTokenSchema)
	pt := &PublishToken{RenewBefore: DefaultRenewBefore}
	diags = append(diags, optDurationIn(pc.Attributes["renew_before"], &pt.RenewBefore, time.Second, MaxMaxTokenTTL)...)
	c.PublishToken = pt
	if p, ok := cfg.Provider(c.Provider); ok {
		r := pb.DefRange
		if a := pc.Attributes["renew_before"]; a != nil {
			r = a.Expr.Range()
		}
		if w := renewWarning(c, p, r); w != nil {
			diags = append(diags, w)
		}
	}
	return diags
}

// decodeAutoRotate decodes a credential's auto_rotate block. The API token
// is named by a file, never written in the configuration.
func decodeAutoRotate(b *hcl.Block, c *Credential) hcl.Diagnostics {
	content, diags := b.Body.Content(autoRotateSchema)
	ar := &AutoRotate{Overlap: DefaultAutoRotateOverlap, StartBefore: DefaultAutoRotateStartBefore}
	diags = append(diags, optString(content.Attributes["okta_org_url"], &ar.OktaOrgURL)...)
	diags = append(diags, optString(content.Attributes["app_id"], &ar.AppID)...)
	diags = append(diags, optString(content.Attributes["api_token_file"], &ar.APITokenFile)...)
	diags = append(diags, optDurationIn(content.Attributes["overlap"], &ar.Overlap, time.Minute, 90*24*time.Hour)...)
	diags = append(diags, optDurationIn(content.Attributes["start_before"], &ar.StartBefore, 0, 365*24*time.Hour)...)
	ar.OktaOrgURL = strings.TrimRight(ar.OktaOrgURL, "/")
	diags = append(diags, checkEndpointURL(content.Attributes["okta_org_url"], ar.OktaOrgURL, "okta_org_url", false)...)
	c.AutoRotate = ar
	return diags
}

func decodeDaemon(b *hcl.Block, d *Daemon) hcl.Diagnostics {
	content, diags := b.Body.Content(daemonSchema)
	if a := content.Attributes["parallel"]; a != nil {
		v, ds := attrValue(a, cty.Number)
		diags = append(diags, ds...)
		if v != cty.NilVal {
			n, acc := v.AsBigFloat().Int64()
			if acc != 0 || n < 1 || n > 1024 {
				diags = append(diags, errAt(a.Expr.Range(), "Invalid parallel", "parallel is a whole number from 1 to 1024."))
			} else {
				d.Parallel = int(n)
			}
		}
	}
	diags = append(diags, optDurationIn(content.Attributes["check_timeout"], &d.CheckTimeout, MinCheckTimeout, MaxCheckTimeout)...)
	diags = append(diags, optDurationIn(content.Attributes["lease_ttl"], &d.LeaseTTL, MinLeaseTTL, MaxLeaseTTL)...)
	diags = append(diags, optDurationIn(content.Attributes["first_check_within"], &d.FirstCheckWithin, time.Second, time.Hour)...)
	return diags
}

// The attribute decoders below leave *dst alone when the attribute is absent.

func optString(a *hcl.Attribute, dst *string) hcl.Diagnostics {
	v, diags := attrValue(a, cty.String)
	if v == cty.NilVal {
		return diags
	}
	*dst = v.AsString()
	return diags
}

func optBool(a *hcl.Attribute, dst *bool) hcl.Diagnostics {
	v, diags := attrValue(a, cty.Bool)
	if v == cty.NilVal {
		return diags
	}
	*dst = v.True()
	return diags
}

func optStringList(a *hcl.Attribute, dst *[]string) hcl.Diagnostics {
	v, diags := attrValue(a, cty.List(cty.String))
	if v == cty.NilVal {
		return diags
	}
	out := []string{}
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			return append(diags, errAt(a.Expr.Range(), "Invalid value", "The list may not contain null."))
		}
		out = append(out, e.AsString())
	}
	*dst = out
	return diags
}

func optDuration(a *hcl.Attribute, dst *time.Duration) hcl.Diagnostics {
	var s string
	diags := optString(a, &s)
	if a == nil || diags.HasErrors() {
		return diags
	}
	d, err := ParseDuration(s)
	if err != nil {
		return append(diags, errAt(a.Expr.Range(), "Invalid duration", "%s.", capitalize(err.Error())))
	}
	*dst = d
	return diags
}

// attrValue evaluates a constant attribute and converts it to want. It
// returns cty.NilVal when the attribute is absent or has errors.
func attrValue(a *hcl.Attribute, want cty.Type) (cty.Value, hcl.Diagnostics) {
	if a == nil {
		return cty.NilVal, nil
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	cv, err := convert.Convert(v, want)
	if err != nil || cv.IsNull() || !cv.IsWhollyKnown() {
		return cty.NilVal, append(diags, errAt(a.Expr.Range(), "Incorrect attribute value type", "%s must be %s.", a.Name, typeName(want)))
	}
	return cv, diags
}

func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Bool:
		return "true or false"
	case t == cty.Number:
		return "a number"
	case t.IsListType():
		return "a list of strings"
	}
	return t.FriendlyName()
}

func errAt(r hcl.Range, summary, detail string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: r.Ptr()}
}

func rangeStart(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// DefaultConfigFile is the configuration read when none is named.
const DefaultConfigFile = "credkeeper.hcl"

// LoadOrDefault loads path. When path was not named by the user (explicit
// is false) and no such file exists, it returns Default(): credkeeper then
// works from the environment and the presets alone.
func LoadOrDefault(path string, explicit bool) (*Config, error) {
	if !explicit {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return Default(), nil
		}
	}
	return Load(path)
}
