package config

import "testing"

func TestPrivateKeyJWTIsAcceptedWhereTheProviderAllowsIt(t *testing.T) {
	cases := []struct{ name, src, provider string }{
		{"a provider block", "provider \"idp\" {\n  token_url = \"https://idp.example.org/token\"\n  auth_style = \"private_key_jwt\"\n}\n", "idp"},
		{"an Okta preset", "provider \"ctrp-stage\" {\n  auth_style = \"private_key_jwt\"\n}\n", "ctrp-stage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, diags := Parse([]byte(c.src), "k.hcl")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			p, ok := cfg.Provider(c.provider)
			if !ok || p.AuthStyle != AuthStylePrivateKeyJWT {
				t.Fatalf("provider %+v", p)
			}
		})
	}
}
