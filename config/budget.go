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
// budget_group, else its token endpoint's host (with its port, in lower
// case), else its own name.
func (p *Provider) BudgetGroupName() string {
	if p.BudgetGroup != "" {
		return p.BudgetGroup
	}
	if u, err := url.Parse(p.TokenURL); err == nil && u.Host != "" {
		return strings.ToLower(u.Host)
	}
	return p.Name
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

func (c *Config) makeBudgetGroups() []BudgetGroup {
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
	return diags
}
