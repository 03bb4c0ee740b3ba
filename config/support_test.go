package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSupportBlocksAndRequestFields(t *testing.T) {
	cfg, err := Load("testdata/valid/support.hcl")
	if err != nil {
		t.Fatal(err)
	}
	stage, _ := cfg.Provider("ctrp-stage")
	if stage.Support.Email != "CTRP_support@nih.gov" || stage.Support.Name != "CTRP Support" || stage.Support.Via != "mail" {
		t.Errorf("a preset's support block keeps the preset's address and adds via: %+v", stage.Support)
	}
	if prod, _ := cfg.Provider("ctrp-prod"); prod.Support.Email != "CTRP_support@nih.gov" || prod.Support.Via != "" {
		t.Errorf("the CTRP presets carry CTRP support's address from the seed: %+v", prod.Support)
	}
	if dmp, _ := cfg.Provider("dmptool"); dmp.Support.Email != "" {
		t.Errorf("DMPTool has no support desk issuing pairs: %+v", dmp.Support)
	}
	idp, _ := cfg.Provider("internal-idp")
	if idp.Support.Email != "idp-help@example.org" || idp.Support.Name != "IdP team" || idp.Support.Parsed == nil {
		t.Errorf("internal-idp support = %+v", idp.Support)
	}
	var b bytes.Buffer
	if err := idp.RequestTemplate().Execute(&b, RequestData{Credential: "idp", ClientID: "abc", Deadline: "2027-01-01", Owner: "o@example.org"}); err != nil || !strings.HasPrefix(b.String(), "Subject: New pair for idp\n\nPlease rotate abc before 2027-01-01") {
		t.Errorf("the provider's template: %q, %v", b.String(), err)
	}
	if stage.RequestTemplate() != defaultRequestTemplate {
		t.Error("a provider without a template uses the default")
	}
	cred, _ := cfg.Credential("ctrp-stage")
	if cred.Account != "jdoe" || cred.FollowUpAfter != 5*24*time.Hour || cfg.FollowUpAfterOf("ctrp-stage") != 5*24*time.Hour {
		t.Errorf("ctrp-stage: account %q, follow_up_after %v", cred.Account, cred.FollowUpAfter)
	}
	if cfg.FollowUpAfterOf("idp") != 7*24*time.Hour || cfg.FollowUpAfterOf("undeclared") != DefaultFollowUpAfter {
		t.Errorf("follow_up_after defaults to 7d: %v", cfg.FollowUpAfterOf("idp"))
	}
}

func TestDefaultRequestTemplateNamesWhatSupportNeeds(t *testing.T) {
	for _, tc := range []struct {
		name string
		data RequestData
		want []string
		not  []string
	}{
		{"a first request asks for the environment's new pair and names the account, client ID, deadline and who to answer",
			RequestData{Environment: "stage", Account: "jdoe", ClientID: "0oa-current", TokenURL: "https://t/v1/token", Deadline: "2026-12-26", DaysLeft: 30, Owner: "security@example.org", SupportName: "CTRP Support"},
			[]string{"Subject: New client ID and secret for stage (jdoe) before 2026-12-26\n\n", "Dear CTRP Support,", "User account:       jdoe", "Current client ID:  0oa-current", "(30 days left)", "Please send the new pair, or any question, to security@example.org."},
			[]string{"Follow-up", "Our reference"}},
		{"a request after the deadline says it is overdue, not days left before it",
			RequestData{Environment: "stage", ClientID: "0oa-current", Deadline: "2026-11-23", DaysLeft: -3, Owner: "o"},
			[]string{"Subject: New client ID and secret for stage (was due 2026-11-23, 3 days ago)\n\n", "which was due to be changed by 2026-11-23, 3 days ago.", "Deadline:           was due 2026-11-23, 3 days ago"},
			[]string{"before 2026-11-23", "days left", "(-3"}},
		{"one day overdue is one day",
			RequestData{Environment: "stage", ClientID: "0oa-current", Deadline: "2026-11-23", DaysLeft: -1, Owner: "o"},
			[]string{"(was due 2026-11-23, 1 day ago)"},
			[]string{"1 days", "(-1"}},
		{"a follow-up says so and gives the first date and the reference",
			RequestData{Environment: "prod", ClientID: "x", Deadline: "2026-12-26", Owner: "o", FollowUp: true, FirstRequested: "2026-11-26", Ticket: "INC123", Note: "Our account manager is away."},
			[]string{"Subject: Follow-up: New client ID and secret for prod before", "our request of 2026-11-26 (our reference INC123)", "Our reference:      INC123", "\nOur account manager is away.\n"},
			[]string{"User account"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := defaultRequestTemplate.Execute(&b, tc.data); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in\n%s", w, b.String())
				}
			}
			for _, w := range tc.not {
				if strings.Contains(b.String(), w) {
					t.Errorf("unexpected %q in\n%s", w, b.String())
				}
			}
		})
	}
}
