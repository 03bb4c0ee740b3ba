package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credkeeper/credkeeper/oauthcheck"
)

// The per-credential series are made at scrape time from what the daemon
// observed: counts by class, the deadline, the last success, up, and the
// published token's expiry (gone once the token is removed).
func TestCredentialSeries(t *testing.T) {
	m := New()
	deadline := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	success := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	m.CheckDone(oauthcheck.Result{Name: "ctrp-prod", Environment: "prod", Class: oauthcheck.ClassOK, RotateBy: deadline}, success)
	m.CheckDone(oauthcheck.Result{Name: "ctrp-prod", Environment: "prod", Class: oauthcheck.ClassUnavailable, RotateBy: deadline}, success)
	m.CheckDone(oauthcheck.Result{Name: "ctrp-prod", Environment: "prod", Class: oauthcheck.ClassUnavailable, RotateBy: deadline}, success)
	m.CheckDone(oauthcheck.Result{Name: "dmptool", Class: oauthcheck.ClassInvalidClient}, time.Time{})
	m.TokenPublished("ctrp-prod", success.Add(8*time.Hour))
	m.TokenPublished("dmptool", success.Add(time.Hour))
	m.TokenPublished("dmptool", time.Time{})

	want := `
# HELP credkeeper_check_total Checks of a credential, by class.
# TYPE credkeeper_check_total counter
credkeeper_check_total{class="invalid_client",credential="dmptool"} 1
credkeeper_check_total{class="ok",credential="ctrp-prod"} 1
credkeeper_check_total{class="unavailable",credential="ctrp-prod"} 2
# HELP credkeeper_credential_last_success_timestamp_seconds When a check of the credential last ended ok, in seconds since the epoch.
# TYPE credkeeper_credential_last_success_timestamp_seconds gauge
credkeeper_credential_last_success_timestamp_seconds{credential="ctrp-prod"} 1.7955216e+09
# HELP credkeeper_credential_rotation_deadline_timestamp_seconds When the credential must be rotated, in seconds since the epoch.
# TYPE credkeeper_credential_rotation_deadline_timestamp_seconds gauge
credkeeper_credential_rotation_deadline_timestamp_seconds{credential="ctrp-prod",environment="prod"} 1.8038592e+09
# HELP credkeeper_credential_up 1 when the credential's last check ended ok, else 0.
# TYPE credkeeper_credential_up gauge
credkeeper_credential_up{credential="ctrp-prod"} 0
credkeeper_credential_up{credential="dmptool"} 0
# HELP credkeeper_token_expiry_timestamp_seconds When the access token published for CI expires, in seconds since the epoch.
# TYPE credkeeper_token_expiry_timestamp_seconds gauge
credkeeper_token_expiry_timestamp_seconds{credential="ctrp-prod"} 1.7955504e+09
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"credkeeper_check_total", "credkeeper_credential_last_success_timestamp_seconds", "credkeeper_credential_rotation_deadline_timestamp_seconds",
		"credkeeper_credential_up", "credkeeper_token_expiry_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// The daemon's budget groups are series labelled by the group: the
// requests let out of it and its budget (Metrics is the daemon's
// BudgetObserver).
func TestBudgetSeriesCarryTheGroup(t *testing.T) {
	m := New()
	m.BudgetTaken("bioappdev.okta.com", 10, 1)
	m.BudgetTaken("bioappdev.okta.com", 10, 2)
	m.BudgetTaken("partners", 5, 1)
	want := `
# HELP credkeeper_budget_requests_per_second Each request budget group's budget: the most requests its providers send in any one second.
# TYPE credkeeper_budget_requests_per_second gauge
credkeeper_budget_requests_per_second{group="bioappdev.okta.com"} 10
credkeeper_budget_requests_per_second{group="partners"} 5
# HELP credkeeper_budget_requests_total Provider requests let out of each request budget group (providers on one token host, or naming one budget_group).
# TYPE credkeeper_budget_requests_total counter
credkeeper_budget_requests_total{group="bioappdev.okta.com"} 3
credkeeper_budget_requests_total{group="partners"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "credkeeper_budget_requests_per_second", "credkeeper_budget_requests_total"); err != nil {
		t.Error(err)
	}
}
