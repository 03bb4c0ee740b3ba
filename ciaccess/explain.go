package ciaccess

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/text"
	"github.com/credkeeper/credkeeper/policies"
)

// Cause is why Vault refused a login, as Explain reads it.
type Cause string

// The causes of a refused login.
const (
	// CauseAudience: the JWT's aud is not one the role binds.
	CauseAudience Cause = "audience"
	// CauseClaim: a claim the role binds holds another value, or is missing.
	CauseClaim Cause = "claim"
	// CauseExpired: the JWT's exp has passed.
	CauseExpired Cause = "expired"
	// CauseNotYetValid: the JWT's nbf or iat is still to come.
	CauseNotYetValid Cause = "not_yet_valid"
	// CauseUnknownKey: the JWT's signature does not verify against the keys
	// of the issuer the mount trusts (another issuer's, or a key the issuer
	// does not publish).
	CauseUnknownKey Cause = "unknown_key"
	// CauseIssuer: the JWT names an issuer the mount does not trust.
	CauseIssuer Cause = "issuer"
	// CauseRole: Vault has no such role at the mount.
	CauseRole Cause = "role"
	// CauseServiceAccount: the role does not bind the token's service
	// account or namespace.
	CauseServiceAccount Cause = "service_account"
	// CauseUnauthenticated: the Kubernetes API server did not vouch for the
	// service account token.
	CauseUnauthenticated Cause = "unauthenticated"
	// CauseNotAJWT: what was given is not a JWT.
	CauseNotAJWT Cause = "not_a_jwt"
	// CauseOther: a refusal Explain has no words of its own for.
	CauseOther Cause = "other"
)

// Mismatch is a claim the role binds and the JWT does not satisfy.
type Mismatch struct {
	Claim    string `json:"claim"`
	Expected string `json:"expected"`
	// Actual is the JWT's value; empty when Missing.
	Actual  string `json:"actual"`
	Missing bool   `json:"missing,omitempty"`
}

// Refusal explains a refused login.
type Refusal struct {
	Cause Cause `json:"cause"`
	// Explanation says, in plain words, what is wrong and what to do.
	Explanation string `json:"explanation"`
	// Mismatches are the bound claims the JWT does not satisfy, the one
	// Vault named first.
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// Vault is Vault's own reason.
	Vault string `json:"vault_reason"`
}

var claimInReason = regexp.MustCompile(`claim "([^"]+)" (does not match|is missing)`)

// Explain reads Vault's reason for refusing a login with a JWT whose claims
// are c, for role, at now. It is pure.
func Explain(vaultReason string, role policies.CIRole, c Claims, decoded bool, now time.Time) Refusal {
	r := Refusal{Vault: text.Truncate(text.Printable(vaultReason), 500), Cause: CauseOther}
	reason := strings.ToLower(vaultReason)
	where := "auth/" + role.Mount
	switch {
	case strings.Contains(reason, "could not be found") || strings.Contains(reason, "invalid role name"):
		r.Cause = CauseRole
		r.Explanation = fmt.Sprintf("Vault has no role %q at %s: write it with credkeeper plan and apply", role.Name, where)
	case !decoded && role.Method == policies.CIMethodJWT:
		r.Cause = CauseNotAJWT
		r.Explanation = "what was given is not a JWT (three base64url parts): give the CI platform's ID token"
	case claimInReason.MatchString(vaultReason):
		r.Cause = CauseClaim
		first := claimInReason.FindStringSubmatch(vaultReason)[1]
		r.Mismatches = mismatches(role, c, first)
		parts := make([]string, 0, len(r.Mismatches))
		for _, m := range r.Mismatches {
			if m.Missing {
				parts = append(parts, fmt.Sprintf("claim %s: the role expects %q; the JWT has no %s claim", m.Claim, m.Expected, m.Claim))
			} else {
				parts = append(parts, fmt.Sprintf("claim %s: the role expects %q; the JWT holds %q", m.Claim, m.Expected, m.Actual))
			}
		}
		r.Explanation = "claim mismatch: " + strings.Join(parts, "; ")
	case strings.Contains(reason, "expired"):
		r.Cause = CauseExpired
		r.Explanation = "the JWT has expired"
		if exp, ok := c.Time("exp"); ok {
			r.Explanation = fmt.Sprintf("the JWT expired at %s", dates.FormatTime(exp))
			if now.After(exp) {
				r.Explanation += fmt.Sprintf(", %s before now (%s)", now.Sub(exp).Round(time.Second), dates.FormatTime(now))
			} else {
				r.Explanation += " by Vault's clock"
			}
		}
		r.Explanation += ": CI ID tokens live minutes; verify with one fresh from a job"
	case strings.Contains(reason, "(nbf)") || strings.Contains(reason, "(iat)") || strings.Contains(reason, "not valid yet"):
		r.Cause = CauseNotYetValid
		r.Explanation = "the JWT is not valid yet"
		if nbf, ok := c.Time("nbf"); ok {
			r.Explanation = fmt.Sprintf("the JWT is valid only from %s (now is %s): is a clock wrong?", dates.FormatTime(nbf), dates.FormatTime(now))
		}
	case strings.Contains(reason, "aud"):
		r.Cause = CauseAudience
		want := stringList(role.Data["bound_audiences"])
		got := c.Audiences()
		r.Explanation = fmt.Sprintf("wrong audience: the JWT's aud is %s; the role accepts %s: ask the CI platform for a token with that audience (GitHub: jwtGithubAudience; GitLab: id_tokens aud)",
			quoteList(got), quoteList(want))
	case strings.Contains(reason, "issuer") || strings.Contains(reason, "(iss)"):
		r.Cause = CauseIssuer
		iss, _ := c.Value("iss")
		r.Explanation = fmt.Sprintf("unknown issuer: the JWT was issued by %q, which the mount %s does not trust (its bound_issuer)", iss, where)
	case strings.Contains(reason, "signature") || strings.Contains(reason, "no known key") || strings.Contains(reason, "verify"):
		r.Cause = CauseUnknownKey
		iss, _ := c.Value("iss")
		r.Explanation = fmt.Sprintf("unknown issuer or key: the JWT's signature does not verify against the keys the mount %s trusts; it claims issuer %q and key %q: a token of another issuer, or signed by a key its issuer does not publish",
			where, iss, c.KeyID())
	case strings.Contains(reason, "service account name not authorized"):
		r.Cause = CauseServiceAccount
		_, name := c.ServiceAccount()
		r.Explanation = fmt.Sprintf("service account mismatch: the role expects service account %s; the token names %q", quoteList(stringList(role.Data["bound_service_account_names"])), name)
	case strings.Contains(reason, "namespace not authorized"):
		r.Cause = CauseServiceAccount
		ns, _ := c.ServiceAccount()
		r.Explanation = fmt.Sprintf("namespace mismatch: the role expects namespace %s; the token names %q", quoteList(stringList(role.Data["bound_service_account_namespaces"])), ns)
	case role.Method == policies.CIMethodKubernetes && strings.Contains(reason, "permission denied"):
		r.Cause = CauseUnauthenticated
		r.Explanation = "the Kubernetes API server did not authenticate the token (expired, its service account deleted, another cluster's, or the wrong audience)"
	default:
		r.Explanation = "Vault refused the login: " + r.Vault
	}
	return r
}

// mismatches are the role's bound claims the JWT does not satisfy, first
// the one Vault named.
func mismatches(role policies.CIRole, c Claims, first string) []Mismatch {
	bound, _ := role.Data["bound_claims"].(map[string]any)
	names := make([]string, 0, len(bound))
	for k := range bound {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == first) != (names[j] == first) {
			return names[i] == first
		}
		return names[i] < names[j]
	})
	var out []Mismatch
	for _, name := range names {
		want := stringList(bound[name])
		got, ok := c.Value(name)
		if ok && contains(want, got) {
			continue
		}
		out = append(out, Mismatch{Claim: name, Expected: strings.Join(want, " or "), Actual: got, Missing: !ok})
	}
	if len(out) == 0 {
		got, ok := c.Value(first)
		out = append(out, Mismatch{Claim: first, Expected: "(as the role in Vault binds it)", Actual: got, Missing: !ok})
	}
	return out
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " or ")
}
