package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// BudgetGroup is a request budget that several providers share: Okta's
// rate limits are per org, so providers whose token endpoints are on one
// host (CTRP's int, stage and production authorization servers on
// bioappdev.okta.com) share one budget by default, and providers that
// name the same budget_group share one wherever their endpoints are.
//
// The group's budget is the largest requests_per_second of its
// providers; each provider's own requests_per_second is the most of it
// that provider may take.
type BudgetGroup struct {
	// Name is the budget_group its providers name, or their token
	// endpoints' host.
	Name string
	// Named: the providers name the group with budget_group.
	Named bool
	// Providers are the group's providers, sorted.
	Providers []string
	// RequestsPerSecond is the group's budget.
	RequestsPerSecond float64
	// Shares are the providers' own requests_per_second, in the order of
	// Providers.
	Shares []float64
}

// String is the group as validate explains it: its name, its budget and
// its providers, with the share of those that may take less.
func (g BudgetGroup) String() string {
	var b strings.Builder
	kind := "host"
	if g.Named {
		kind = "budget_group"
	}
	fmt.Fprintf(&b, "request budget %s (%s): %s requests a second for ", g.Name, kind, formatRate(g.RequestsPerSecond))
	for i, p := range g.Providers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
		if g.Shares[i] < g.RequestsPerSecond {
			fmt.Fprintf(&b, " (at most %s)", formatRate(g.Shares[i]))
		}
	}
	if len(g.Providers) > 1 {
		b.WriteString(", together")
	}
	return b.String()
}

func formatRate(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// RequestsPerSecondOrDefault is the provider's request budget in force:
// its requests_per_second, or DefaultRequestsPerSecond.
func (p *Provider) RequestsPerSecondOrDefault() float64 {
	if p.RequestsPerSecond > 0 {
		return p.RequestsPerSecond
	}
	return DefaultRequestsPerSecond
}

// BudgetGroupName is the name of the provider's budget group: its
// budget_group, else its token endpoint's host (TokenHost), else its own
// name.
func (p *Provider) BudgetGroupName() string {
	if p.BudgetGroup != "" {
		return p.BudgetGroup
	}
	if h := p.TokenHost(); h != "" {
		return h
	}
	return p.Name
}

// TokenHost is the host of the provider's token endpoint in one spelling
// for every way of writing it: in lower case, without the root's trailing
// dot, with its port only when it is not the scheme's default (443 for
// https, 80 for http); empty when the token_url has no host.
func (p *Provider) TokenHost() string {
	u, err := url.Parse(p.TokenURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	switch scheme := strings.ToLower(u.Scheme); {
	case port == "443" && scheme == "https", port == "80" && scheme == "http":
		port = ""
	}
	if strings.Contains(host, ":") { // an IPv6 address
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return host
}

// BudgetGroups are the budget groups of the providers in use (every
// provider block, and every preset a credential names), sorted by name.
func (c *Config) BudgetGroups() []BudgetGroup {
	c.budgetGroupsOnce.Do(func() { c.budgetGroups = c.makeBudgetGroups() })
	return c.budgetGroups
}

// BudgetGroupOf is the budget group of the named provider (a provider
// block or a preset).
func (c *Config) BudgetGroupOf(provider string) (BudgetGroup, bool) {
	for _, g := range c.BudgetGroups() {
		if slices.Contains(g.Providers, provider) {
			return g, true
		}
	}
	p, ok := c.Provider(provider)
	if !ok {
		return BudgetGroup{}, false
	}
	// A preset no credential names: a group of its own.
	return BudgetGroup{Name: p.BudgetGroupName(), Named: p.BudgetGroup != "", Providers: []string{p.Name},
		RequestsPerSecond: p.RequestsPerSecondOrDefault(), Shares: []float64{p.RequestsPerSecondOrDefault()}}, true
}

// providersInUse are every provider block and every preset a credential
// names, by name.
func (c *Config) providersInUse() map[string]*Provider {
	inUse := map[string]*Provider{}
	for name, p := range c.Providers {
		inUse[name] = p
	}
	for _, cr := range c.Credentials {
		if _, ok := inUse[cr.Provider]; ok {
			continue
		}
		if p, ok := Preset(cr.Provider); ok {
			inUse[cr.Provider] = &p
		}
	}
	return inUse
}

func (c *Config) makeBudgetGroups() []BudgetGroup {
	inUse := c.providersInUse()
	byName := map[string]*BudgetGroup{}
	for _, p := range inUse {
		name := p.BudgetGroupName()
		g := byName[name]
		if g == nil {
			g = &BudgetGroup{Name: name}
			byName[name] = g
		}
		g.Named = g.Named || p.BudgetGroup != ""
		g.Providers = append(g.Providers, p.Name)
	}
	out := make([]BudgetGroup, 0, len(byName))
	for _, g := range byName {
		slices.Sort(g.Providers)
		for _, name := range g.Providers {
			share := inUse[name].RequestsPerSecondOrDefault()
			g.Shares = append(g.Shares, share)
			g.RequestsPerSecond = max(g.RequestsPerSecond, share)
		}
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b BudgetGroup) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkBudgetGroups warns of a budget_group that splits a token host: a
// provider naming one is out of its host's group, so the host (one Okta
// org) is sent the budgets of both groups together.
func checkBudgetGroups(cfg *Config) hcl.Diagnostics {
	inUse := cfg.providersInUse()
	groupsOn := map[string]map[string]bool{} // host: the groups its providers are in
	for _, p := range inUse {
		if h := p.TokenHost(); h != "" {
			if groupsOn[h] == nil {
				groupsOn[h] = map[string]bool{}
			}
			groupsOn[h][p.BudgetGroupName()] = true
		}
	}
	var diags hcl.Diagnostics
	for _, p := range inUse {
		h := p.TokenHost()
		if p.BudgetGroup == "" || p.budgetGroupRange == nil || len(groupsOn[h]) < 2 {
			continue
		}
		others := make([]string, 0, len(groupsOn[h]))
		for g := range groupsOn[h] {
			if g != p.BudgetGroup {
				others = append(others, g)
			}
		}
		slices.Sort(others)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "A token host in two request budgets",
			Detail: fmt.Sprintf("provider %q is in budget_group %q, apart from the other providers on %s (in %s): %s is sent every one of these budgets together. Give them all the same budget_group, or none.",
				p.Name, p.BudgetGroup, h, strings.Join(others, ", "), h),
			Subject: p.budgetGroupRange})
	}
	slices.SortFunc(diags, func(a, b *hcl.Diagnostic) int { return a.Subject.Start.Byte - b.Subject.Start.Byte })
	return diags
}

// budgetGroupName is what a budget_group may be called.
var budgetGroupName = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

// decodeBudgetGroup decodes a provider's budget_group.
func decodeBudgetGroup(attrs hcl.Attributes, p *Provider) hcl.Diagnostics {
	a := attrs["budget_group"]
	if a == nil {
		return nil
	}
	var name string
	diags := optString(a, &name)
	if diags.HasErrors() {
		return diags
	}
	if !budgetGroupName.MatchString(name) {
		return append(diags, errAt(a.Expr.Range(), "Invalid budget_group", "budget_group is %q; it must be 1 to 64 lower-case letters, digits, dots, dashes or underscores, beginning and ending with a letter or a digit (providers that name the same budget_group share one request budget).", name))
	}
	p.BudgetGroup = name
	p.budgetGroupRange = a.Expr.Range().Ptr()
	return diags
}
