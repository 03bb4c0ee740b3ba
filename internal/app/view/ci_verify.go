package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/credkeeper/credkeeper/ciaccess"
	"github.com/credkeeper/credkeeper/internal/text"
)

// CIVerify prints what ci verify found: the login, the tokens the job
// reads, the reads refused as they should be, every read that is not what
// the configuration says, or why the login was refused.
func CIVerify(w io.Writer, r *ciaccess.Report) error {
	at := fmt.Sprintf("role %s at auth/%s", r.Role, r.Mount)
	if r.Refusal != nil {
		fmt.Fprintf(w, "ci_access %q: Vault refused the login as %s\n", r.Access, at)
		fmt.Fprintf(w, "  %s\n", r.Refusal.Explanation)
		if r.Refusal.Vault != "" && r.Refusal.Cause != ciaccess.CauseOther {
			fmt.Fprintf(w, "  Vault said: %s\n", r.Refusal.Vault)
		}
		return nil
	}
	fmt.Fprintf(w, "ci_access %q: logged in as %s\n", r.Access, at)
	var readable []string
	for _, rd := range r.Reads {
		if rd.What == ciaccess.ReadToken && rd.Allowed && rd.Want {
			name := rd.Credential
			if !rd.Published {
				name += " (not published yet)"
			}
			readable = append(readable, name)
		}
	}
	if len(readable) > 0 {
		fmt.Fprintf(w, "  reads the token of %s\n", strings.Join(readable, ", "))
	}
	refused := 0
	for _, rd := range r.Reads {
		if !rd.Allowed && !rd.Want {
			refused++
		}
	}
	fmt.Fprintf(w, "  refused, as it should be: %d %s (%s)\n", refused, text.Plural(refused, "read", "reads"), refusedSummary(r))
	for _, rd := range r.Unexpected() {
		fmt.Fprintf(w, "  NOT AS CONFIGURED: %s\n", describeRead(rd))
	}
	for _, d := range r.Differences {
		fmt.Fprintf(w, "  NOT AS CONFIGURED: %s\n", d)
	}
	if r.Exact {
		fmt.Fprintln(w, "exact: the job reads what the configuration says and nothing else")
	} else {
		fmt.Fprintln(w, "not exact: the job's access or its role differs from the configuration (run credkeeper plan)")
	}
	return nil
}

// refusedSummary names the kinds of read refused: "tokens of …, client
// secrets, pending pairs, states, ledgers, the credential list".
func refusedSummary(r *ciaccess.Report) string {
	var otherTokens []string
	kinds := map[string]bool{}
	var order []string
	for _, rd := range r.Reads {
		if rd.Allowed || rd.Want {
			continue
		}
		if rd.What == ciaccess.ReadToken {
			otherTokens = append(otherTokens, rd.Credential)
			continue
		}
		if !kinds[rd.What] {
			kinds[rd.What] = true
			order = append(order, rd.What)
		}
	}
	var parts []string
	if len(otherTokens) > 0 {
		parts = append(parts, "the tokens of "+strings.Join(otherTokens, ", "))
	}
	for _, k := range order {
		switch k {
		case ciaccess.ReadCredentialList, ciaccess.ReadTokenList:
			parts = append(parts, "the "+k)
		default:
			parts = append(parts, "every "+k)
		}
	}
	return strings.Join(parts, "; ")
}

func describeRead(rd ciaccess.Read) string {
	what := "the " + rd.What
	if rd.Credential != "" {
		what += " of " + rd.Credential
	}
	if rd.Allowed {
		return "reads " + what + ", which the configuration does not allow"
	}
	return "cannot read " + what + ", which the configuration allows"
}
