package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/credkeeper/credkeeper/check"
	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/rotation"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// StatusJSON is one row of status --json.
type StatusJSON struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Provider    string `json:"provider"`
	Owner       string `json:"owner"`
	RotateBy    string `json:"rotate_by"`
	DaysLeft    *int   `json:"days_left"`
	Version     int    `json:"version"`
	LastClass   string `json:"last_class"`
	LastCheck   string `json:"last_check"`
	LastSuccess string `json:"last_success"`
	Failures    int    `json:"consecutive_failures"`
	Pending     string `json:"pending"`
	// SilencedUntil and Silenced: the credential's silence while it holds.
	SilencedUntil string   `json:"silenced_until,omitempty"`
	Silenced      []string `json:"silenced,omitempty"`
	// Request is where a person's rotation stands (requested, staged,
	// done), with who, when and the ticket; absent when nothing was asked.
	Request *RequestJSON `json:"request,omitempty"`
}

// Statuses is rows as status --json prints them.
func Statuses(rows []check.CredentialStatus) []StatusJSON {
	out := make([]StatusJSON, 0, len(rows))
	for _, r := range rows {
		j := StatusJSON{Name: r.Name, Environment: r.Environment, Provider: r.Provider, Owner: r.Owner, RotateBy: dates.Format(r.RotateBy),
			Version: r.Version, LastClass: r.LastClass, LastCheck: dates.FormatTime(r.LastCheck), LastSuccess: dates.FormatTime(r.LastSuccess), Failures: r.Failures, Pending: r.Pending}
		if !r.RotateBy.IsZero() {
			d := r.DaysLeft
			j.DaysLeft = &d
		}
		if r.Silence != nil {
			j.SilencedUntil, j.Silenced = dates.FormatTime(r.Silence.Until), r.Silence.Kinds
		}
		j.Request = Request(r.Rotation, r.Pending != "")
		out = append(out, j)
	}
	return out
}

// WriteStatusTable prints rows as status's table.
func WriteStatusTable(w io.Writer, rows []check.CredentialStatus) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tENVIRONMENT\tROTATE BY\tDAYS LEFT\tLAST CHECK\tCLASS\tFAILURES\tPENDING\tSILENCED")
	for _, j := range Statuses(rows) {
		days := "-"
		if j.DaysLeft != nil {
			days = fmt.Sprint(*j.DaysLeft)
			if *j.DaysLeft < 0 {
				days = fmt.Sprintf("overdue %d", -*j.DaysLeft)
			}
		}
		silenced := "-"
		if j.SilencedUntil != "" {
			silenced = strings.Join(j.Silenced, ",") + " until " + j.SilencedUntil
		}
		pending := j.Pending
		if j.Request != nil && j.Request.Step == "requested" {
			pending = "requested " + strings.SplitN(j.Request.At, "T", 2)[0] + Prefixed(", ", j.Request.Ticket)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", j.Name, Dash(j.Environment), Dash(j.RotateBy), days, Dash(j.LastCheck), Dash(j.LastClass), j.Failures, Dash(pending), silenced)
	}
	return tw.Flush()
}

// CredentialJSON is how secret list and show print a credential: its
// metadata, never its data.
type CredentialJSON struct {
	Name        string `json:"name"`
	Provider    string `json:"provider"`
	Environment string `json:"environment"`
	Owner       string `json:"owner"`
	IssuedAt    string `json:"issued_at"`
	RotateBy    string `json:"rotate_by"`
	Version     int    `json:"version"`
	UpdatedTime string `json:"updated_time"`
	// The private key's public description, for a credential holding a
	// key (private_key_jwt): never the key.
	KeyAlg         string `json:"key_alg,omitempty"`
	KeyID          string `json:"key_id,omitempty"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
}

// Credential is i as secret list and show print it.
func Credential(i vaultstore.CredentialInfo) CredentialJSON {
	return CredentialJSON{
		Name: i.Name, Provider: i.Metadata.Provider, Environment: i.Metadata.Environment, Owner: i.Metadata.Owner,
		IssuedAt: dates.Format(i.Metadata.IssuedAt), RotateBy: dates.Format(i.Metadata.RotateBy),
		Version: i.Version, UpdatedTime: dates.FormatTime(i.UpdatedTime),
		KeyAlg: i.Metadata.Key.Alg, KeyID: i.Metadata.Key.ID, KeyFingerprint: i.Metadata.Key.Fingerprint,
	}
}

// Credentials is infos as secret list --json prints them.
func Credentials(infos []vaultstore.CredentialInfo) []CredentialJSON {
	out := make([]CredentialJSON, 0, len(infos))
	for _, i := range infos {
		out = append(out, Credential(i))
	}
	return out
}

// WriteCredentialTable prints secret list's table.
func WriteCredentialTable(w io.Writer, infos []vaultstore.CredentialInfo) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tPROVIDER\tENVIRONMENT\tOWNER\tISSUED_AT\tROTATE_BY\tVERSION")
	for _, r := range Credentials(infos) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Name, Dash(r.Provider), Dash(r.Environment), Dash(r.Owner), Dash(r.IssuedAt), Dash(r.RotateBy), r.Version)
	}
	return tw.Flush()
}

// WriteCredential prints secret show's two columns.
func WriteCredential(w io.Writer, i vaultstore.CredentialInfo) error {
	r := Credential(i)
	tw := table(w)
	for _, kv := range [][2]string{
		{"name", r.Name}, {"provider", Dash(r.Provider)}, {"environment", Dash(r.Environment)}, {"owner", Dash(r.Owner)},
		{"issued_at", Dash(r.IssuedAt)}, {"rotate_by", Dash(r.RotateBy)}, {"version", fmt.Sprint(r.Version)}, {"updated_time", r.UpdatedTime},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	if r.KeyAlg == "" && r.KeyID == "" {
		return tw.Flush()
	}
	for _, kv := range [][2]string{{"key_alg", Dash(r.KeyAlg)}, {"key_id", Dash(r.KeyID)}, {"key_fingerprint", Dash(r.KeyFingerprint)}} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// RotateStatusJSON is rotate status --json: no secret, ever.
type RotateStatusJSON struct {
	Name           string              `json:"name"`
	CurrentVersion int                 `json:"current_version"`
	Provider       string              `json:"provider"`
	Environment    string              `json:"environment"`
	IssuedAt       string              `json:"issued_at"`
	RotateBy       string              `json:"rotate_by"`
	LastClass      string              `json:"last_class"`
	LastCheck      string              `json:"last_check"`
	Pending        *PendingJSON        `json:"pending"`
	Versions       []VersionStatusJSON `json:"versions"`
	AutoRotation   *AutoRotationJSON   `json:"auto_rotation,omitempty"`
	// Request is where a person's rotation stands; History every step
	// rotations/NAME records.
	Request *RequestJSON        `json:"request,omitempty"`
	History []RotationEventJSON `json:"history,omitempty"`
}

// AutoRotationJSON is an automated rotation's step, by secret IDs only.
type AutoRotationJSON struct {
	Step        string `json:"step"`
	OldSecretID string `json:"old_secret_id,omitempty"`
	NewSecretID string `json:"new_secret_id,omitempty"`
	// NewKeyID is the kid of the key a rotation of a key generated.
	NewKeyID   string `json:"new_key_id,omitempty"`
	StartedAt  string `json:"started_at,omitempty"`
	PromotedAt string `json:"promoted_at,omitempty"`
	FinishedAt string `json:"finished_at,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// AbandonedReason says why the rotation was abandoned.
	AbandonedReason string `json:"abandoned_reason,omitempty"`
	// Owner runs (or last ran) the rotation; LeaseUntil is when its claim lapses.
	Owner      string `json:"owner,omitempty"`
	LeaseUntil string `json:"lease_until,omitempty"`
}

// PendingJSON is a staged pair, without its secret.
type PendingJSON struct {
	ClientID  string `json:"client_id"`
	StagedAt  string `json:"staged_at"`
	RotateBy  string `json:"rotate_by"`
	LastClass string `json:"last_class"`
	CheckedAt string `json:"checked_at"`
}

// VersionStatusJSON is one version in KV v2's history.
type VersionStatusJSON struct {
	Version int    `json:"version"`
	Created string `json:"created"`
	Deleted bool   `json:"deleted"`
}

// RotateStatus is st as rotate status --json prints it.
func RotateStatus(st *rotation.RotationStatus) RotateStatusJSON {
	j := RotateStatusJSON{Name: st.Name, CurrentVersion: st.CurrentVersion, Provider: st.Metadata.Provider, Environment: st.Metadata.Environment,
		IssuedAt: dates.Format(st.Metadata.IssuedAt), RotateBy: dates.Format(st.Metadata.RotateBy), LastClass: st.LastClass, LastCheck: dates.FormatTime(st.LastCheck),
		Versions: []VersionStatusJSON{}}
	if p := st.Pending; p != nil {
		j.Pending = &PendingJSON{ClientID: p.ClientID, StagedAt: dates.FormatTime(p.StagedAt), RotateBy: dates.Format(p.RotateBy), LastClass: p.LastClass, CheckedAt: dates.FormatTime(p.CheckedAt)}
	}
	for _, v := range st.Versions {
		j.Versions = append(j.Versions, VersionStatusJSON{Version: v.Version, Created: dates.FormatTime(v.CreatedTime), Deleted: v.Deleted})
	}
	j.Request, j.History = Request(st.Auto, st.Pending != nil), History(st.Auto)
	if a := st.Auto; a != nil && a.Step != "" {
		j.AutoRotation = &AutoRotationJSON{Step: a.Step, OldSecretID: a.OldSecretID, NewSecretID: a.NewSecretID, NewKeyID: a.NewKeyID, StartedAt: dates.FormatTime(a.StartedAt),
			PromotedAt: dates.FormatTime(a.PromotedAt), FinishedAt: dates.FormatTime(a.FinishedAt), LastError: a.LastError,
			AbandonedReason: a.AbandonedReason, Owner: a.Owner, LeaseUntil: dates.FormatTime(a.LeaseUntil)}
	}
	return j
}

// WriteRotateStatus prints rotate status's two columns.
func WriteRotateStatus(w io.Writer, st *rotation.RotationStatus) error {
	j := RotateStatus(st)
	tw := table(w)
	fmt.Fprintf(tw, "credential\t%s (%s, %s)\n", j.Name, Dash(j.Provider), Dash(j.Environment))
	fmt.Fprintf(tw, "current version\t%d, issued %s, rotate by %s\n", j.CurrentVersion, Dash(j.IssuedAt), Dash(j.RotateBy))
	fmt.Fprintf(tw, "last check\t%s %s\n", Dash(j.LastClass), j.LastCheck)
	if p := j.Pending; p != nil {
		class := p.LastClass
		if class == "" {
			class = "not checked yet"
		}
		fmt.Fprintf(tw, "pending\tclient ID %s, staged %s: %s (checked %s)\n", p.ClientID, p.StagedAt, class, Dash(p.CheckedAt))
	} else {
		fmt.Fprintf(tw, "pending\tnone\n")
	}
	for _, v := range j.Versions {
		note := ""
		if v.Version == j.CurrentVersion {
			note = " (current)"
		} else if v.Deleted {
			note = " (deleted)"
		}
		fmt.Fprintf(tw, "version %d\twritten %s%s\n", v.Version, v.Created, note)
	}
	if j.Request != nil {
		fmt.Fprintf(tw, "request\t%s\n", RequestLine(j.Request))
	}
	for _, ev := range j.History {
		fmt.Fprintf(tw, "history\t%s\n", EventLine(ev))
	}
	if a := j.AutoRotation; a != nil {
		line := a.Step + ", started " + a.StartedAt
		if a.NewKeyID != "" {
			line += ", new key " + a.NewKeyID
		}
		if a.LastError != "" {
			line += "; stopped: " + a.LastError
		}
		if a.AbandonedReason != "" {
			line += "; abandoned: " + a.AbandonedReason
		}
		if a.LeaseUntil != "" {
			line += "; run by " + a.Owner + " until " + a.LeaseUntil
		}
		fmt.Fprintf(tw, "automated rotation\t%s\n", line)
	}
	return tw.Flush()
}
