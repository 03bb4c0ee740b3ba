package config

import "testing"

// A provider's share of the daemon's slots: its max_in_flight, by default
// half of parallel; never fewer than one, nor more than parallel; a preset
// has the default share unless a provider block of its name sets one.
func TestMaxInFlight(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hcl      string
		provider string
		want     int
	}{
		{"a preset under the default parallel of 8 holds half", ``, "ctrp-stage", 4},
		{"half of parallel 5 rounds down", "daemon {\n  parallel = 5\n}\n", "ctrp-prod", 2},
		{"parallel 1 still leaves one", "daemon {\n  parallel = 1\n}\n", "dmptool", 1},
		{"a provider block's max_in_flight", "provider \"idp\" {\n  token_url = \"https://idp.example.org/token\"\n  auth_style = \"body\"\n  max_in_flight = 3\n}\n", "idp", 3},
		{"a preset's override", "provider \"ctrp-stage\" {\n  max_in_flight = 1\n}\n", "ctrp-stage", 1},
		{"another preset keeps the default", "provider \"ctrp-stage\" {\n  max_in_flight = 1\n}\n", "ctrp-prod", 4},
		{"no more than parallel", "daemon {\n  parallel = 2\n}\nprovider \"ctrp-stage\" {\n  max_in_flight = 6\n}\n", "ctrp-stage", 2},
		{"an unknown provider has the default", ``, "nobody", 4},
	} {
		cfg, diags := Parse([]byte(tc.hcl), "slots.hcl")
		if diags.HasErrors() {
			t.Fatalf("%s: %v", tc.name, diags)
		}
		if got := cfg.MaxInFlight(tc.provider); got != tc.want {
			t.Errorf("%s: MaxInFlight(%q) = %d, want %d", tc.name, tc.provider, got, tc.want)
		}
	}
}
