package config

import (
	"strings"
	"testing"
)

// Providers whose token endpoints share a host share one request budget,
// the largest of their requests_per_second; budget_group names a group
// across hosts; a provider alone is a group of its own; validate's line
// names every provider of a group and the budget.
func TestBudgetGroups(t *testing.T) {
	ctrp := `credential "int" {
  provider = "ctrp-int"
}
credential "stage" {
  provider = "ctrp-stage"
}
credential "prod" {
  provider = "ctrp-prod"
}
`
	for _, tc := range []struct {
		name, hcl string
		want      []string // validate's lines
		provider  string
		group     string
		budget    float64
	}{
		{"the three CTRP presets are one Okta org", ctrp,
			[]string{"request budget bioappdev.okta.com (host): 10 requests a second for ctrp-int, ctrp-prod, ctrp-stage, together"},
			"ctrp-stage", "bioappdev.okta.com", 10},
		{"a provider's requests_per_second is its share of its host's", ctrp + "provider \"ctrp-int\" {\n  requests_per_second = 2\n}\n",
			[]string{"request budget bioappdev.okta.com (host): 10 requests a second for ctrp-int (at most 2), ctrp-prod, ctrp-stage, together"},
			"ctrp-int", "bioappdev.okta.com", 10},
		{"the host's budget is the largest of its providers'", ctrp + "provider \"ctrp-prod\" {\n  requests_per_second = 25\n}\n",
			[]string{"request budget bioappdev.okta.com (host): 25 requests a second for ctrp-int (at most 10), ctrp-prod, ctrp-stage (at most 10), together"},
			"ctrp-int", "bioappdev.okta.com", 25},
		{"a provider on another host has its own", ctrp + "provider \"idp\" {\n  token_url = \"https://IdP.example.org:8443/token\"\n  auth_style = \"body\"\n  requests_per_second = 4\n}\n",
			[]string{"request budget bioappdev.okta.com (host): 10 requests a second for ctrp-int, ctrp-prod, ctrp-stage, together",
				"request budget idp.example.org:8443 (host): 4 requests a second for idp"},
			"idp", "idp.example.org:8443", 4},
		{"budget_group names a group across hosts, and takes a provider out of its host's", ctrp + `provider "ctrp-prod" {
  budget_group = "nci"
}
provider "idp" {
  token_url = "https://idp.example.org/token"
  auth_style = "body"
  budget_group = "nci"
}
`,
			[]string{"request budget bioappdev.okta.com (host): 10 requests a second for ctrp-int, ctrp-stage, together",
				"request budget nci (budget_group): 10 requests a second for ctrp-prod, idp, together"},
			"idp", "nci", 10},
		{"a preset no credential names is not listed, but has a budget", ``, nil, "dmptool", "dmptool.org", 10},
	} {
		cfg, diags := Parse([]byte(tc.hcl), "budget.hcl")
		if diags.HasErrors() {
			t.Fatalf("%s: %v", tc.name, diags)
		}
		var lines []string
		for _, g := range cfg.BudgetGroups() {
			lines = append(lines, g.String())
		}
		if strings.Join(lines, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: validate explains\n%s\nwant\n%s", tc.name, strings.Join(lines, "\n"), strings.Join(tc.want, "\n"))
		}
		g, ok := cfg.BudgetGroupOf(tc.provider)
		if !ok || g.Name != tc.group || g.RequestsPerSecond != tc.budget {
			t.Errorf("%s: BudgetGroupOf(%q) = %q at %g (%v), want %q at %g", tc.name, tc.provider, g.Name, g.RequestsPerSecond, ok, tc.group, tc.budget)
		}
	}
}

// Attack: one Okta org, its token host spelt three ways. A provider
// pointed at https://bioappdev.okta.com:443/… (the same endpoint, the
// port written out) or at the FQDN with its root dot is a group of its
// own, with a budget of its own: the org sees 30 requests a second, its
// budget 10.
func TestOneTokenHostSpeltAnotherWayIsStillOneBudget(t *testing.T) {
	cfg, diags := Parse([]byte(`credential "prod" {
  provider = "ctrp-prod"
}
credential "prod2" {
  provider = "ctrp-prod-443"
}
credential "prod3" {
  provider = "ctrp-prod-dot"
}
provider "ctrp-prod-443" {
  token_url  = "https://bioappdev.okta.com:443/oauth2/aus8jhc6kdbWPrwYa297/v1/token"
  auth_style = "header"
}
provider "ctrp-prod-dot" {
  token_url  = "https://bioappdev.okta.com./oauth2/aus8jhc6kdbWPrwYa297/v1/token"
  auth_style = "header"
}
`), "budget.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var lines []string
	for _, g := range cfg.BudgetGroups() {
		lines = append(lines, g.String())
	}
	if len(lines) != 1 {
		t.Errorf("one Okta org (bioappdev.okta.com) has %d budgets:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// A budget_group that takes a provider out of its token host's group
// leaves that host in two budgets: validate warns at the budget_group,
// and not when every provider on the host names the same group.
func TestABudgetGroupThatSplitsATokenHostIsWarnedOf(t *testing.T) {
	ctrp := "credential \"int\" {\n  provider = \"ctrp-int\"\n}\ncredential \"prod\" {\n  provider = \"ctrp-prod\"\n}\n"
	for _, tc := range []struct {
		name, hcl string
		want      []string
	}{
		{"one provider of the org in a group of its own", ctrp + "provider \"ctrp-prod\" {\n  budget_group = \"nci\"\n}\n",
			[]string{`budget.hcl:8,18-23: A token host in two request budgets; provider "ctrp-prod" is in budget_group "nci", apart from the other providers on bioappdev.okta.com (in bioappdev.okta.com): bioappdev.okta.com is sent every one of these budgets together. Give them all the same budget_group, or none.`}},
		{"the whole org in one group", ctrp + "provider \"ctrp-prod\" {\n  budget_group = \"nci\"\n}\nprovider \"ctrp-int\" {\n  budget_group = \"nci\"\n}\n", nil},
		{"the port spelt out is the same host", ctrp + "provider \"own\" {\n  token_url = \"https://BioAppDev.okta.com:443/oauth2/x/v1/token\"\n  auth_style = \"header\"\n  budget_group = \"nci\"\n}\n",
			[]string{`budget.hcl:10,18-23: A token host in two request budgets; provider "own" is in budget_group "nci", apart from the other providers on bioappdev.okta.com (in bioappdev.okta.com): bioappdev.okta.com is sent every one of these budgets together. Give them all the same budget_group, or none.`}},
	} {
		_, diags := Parse([]byte(tc.hcl), "budget.hcl")
		if diags.HasErrors() {
			t.Fatalf("%s: %v", tc.name, diags)
		}
		var got []string
		for _, d := range diags {
			got = append(got, d.Error())
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: diagnostics\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}
