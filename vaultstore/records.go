package vaultstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/secret"
)

// State is state/NAME: what the checks of one credential found.
type State struct {
	LastClass           string    `json:"last_class,omitempty"`
	LastCheck           time.Time `json:"last_check,omitzero"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	// RejectedVersion is the credential version the provider refused
	// (invalid_client, invalid_grant or expired); it is never sent again
	// to the same token URL in the same auth style until the version
	// changes. RejectedClass and RejectedAt say how and when, whatever
	// other classes later checks had; RejectedTokenURL and
	// RejectedAuthStyle where and how it was sent (empty in a state
	// written before they were kept: then any configuration is refused).
	RejectedVersion   int       `json:"rejected_version,omitempty"`
	RejectedClass     string    `json:"rejected_class,omitempty"`
	RejectedAt        time.Time `json:"rejected_at,omitzero"`
	RejectedTokenURL  string    `json:"rejected_token_url,omitempty"`
	RejectedAuthStyle string    `json:"rejected_auth_style,omitempty"`
	// RetryAt is when a rate-limited provider said to try again.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// RotateBy is the deadline the last check went by (zero: none); nil
	// in a state written before it was kept. A first look after a start
	// tells from it whether a reminder may be due.
	RotateBy   *time.Time     `json:"rotate_by,omitempty"`
	History    []CheckSummary `json:"history,omitempty"`
	Conditions []Condition    `json:"conditions,omitempty"`
	// Version is the KV version this state was read from; not stored.
	Version int `json:"-"`
}

// CheckSummary is one past check, as kept in State.History.
type CheckSummary struct {
	At        time.Time `json:"at"`
	Class     string    `json:"class"`
	Status    int       `json:"status,omitempty"`
	ErrorCode string    `json:"error_code,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	LatencyMS int64     `json:"latency_ms,omitempty"`
}

// Condition is one facet of a credential's status, in the manner of
// Kubernetes conditions: LastTransition moves only when Status flips.
type Condition struct {
	Type           string    `json:"type"`
	Status         string    `json:"status"` // "True", "False", "Unknown"
	Reason         string    `json:"reason,omitempty"`
	Message        string    `json:"message,omitempty"`
	LastTransition time.Time `json:"last_transition"`
}

// Ledger is ledger/NAME: the notices sent for one credential and its open
// incidents, so that no notice goes out twice.
type Ledger struct {
	Entries   []LedgerEntry `json:"entries,omitempty"`
	Incidents []Incident    `json:"incidents,omitempty"`
	Version   int           `json:"-"`
}

// LedgerEntry is one notice on one channel: claimed, then marked sent.
type LedgerEntry struct {
	Key        string          `json:"key"`
	Channel    string          `json:"channel"`
	ClaimedAt  time.Time       `json:"claimed_at,omitzero"`
	ClaimedBy  string          `json:"claimed_by,omitempty"`
	ClaimNonce string          `json:"claim_nonce,omitempty"` // the claimer's process (the lease's nonce), beside its replica ID
	SentAt     time.Time       `json:"sent_at,omitzero"`
	Attempts   int             `json:"attempts,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
	Superseded bool            `json:"superseded,omitempty"` // a nearer notice replaced it before it went out
	Notice     json.RawMessage `json:"notice,omitempty"`     // what to send, for retries; never a secret
}

// Incident is an open alert for a (credential, class).
type Incident struct {
	Key      string    `json:"key"`
	Class    string    `json:"class"`
	OpenedAt time.Time `json:"opened_at"`
}

// Token is tokens/NAME: an access token published for CI. Its fields are
// flat, so that `vault kv get -field=access_token` reads it.
type Token struct {
	AccessToken       secret.Value
	TokenType         string
	IssuedAt          time.Time
	ExpiresAt         time.Time
	Scope             string
	CredentialVersion int
	Version           int
}

// Pending is pending/NAME: a new pair staged for rotation.
type Pending struct {
	ClientID     string
	ClientSecret secret.Value
	// PrivateKey, KeyID and KeyAlg hold a staged key instead of a secret.
	PrivateKey     secret.Value
	KeyID          string
	KeyAlg         string
	KeyFingerprint string
	RotateBy       time.Time // a date; zero means the rotation policy decides
	StagedAt       time.Time
	LastClass      string // the class of the pending pair's last check
	CheckedAt      time.Time
	Version        int
}

// Lease is leases/daemon: which replica runs the checks, until when.
// Nonce names the holder's process: two processes started with the same
// replica ID hold different nonces, so only one of them owns the lease.
type Lease struct {
	Holder    string    `json:"holder"`
	Nonce     string    `json:"nonce,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	Version   int       `json:"-"`
}

// leaseName is the one lease's name under leases/.
const leaseName = "daemon"

// GetLease reads leases/daemon.
func (s *Store) GetLease(ctx context.Context) (*Lease, error) {
	var l Lease
	v, err := s.getJSON(ctx, KindLeases, leaseName, &l)
	if err != nil {
		return nil, err
	}
	l.Version = v
	return &l, nil
}

// PutLease writes leases/daemon if its version is still cas; it returns
// the new version. Two replicas racing for the lease cannot both win.
func (s *Store) PutLease(ctx context.Context, l *Lease, cas int) (int, error) {
	return s.putJSON(ctx, KindLeases, leaseName, l, cas)
}

// GetState reads state/NAME.
func (s *Store) GetState(ctx context.Context, name string) (*State, error) {
	var st State
	v, err := s.getJSON(ctx, KindState, name, &st)
	if err != nil {
		return nil, err
	}
	st.Version = v
	return &st, nil
}

// PutState writes state/NAME if its version is still cas; it returns the new version.
func (s *Store) PutState(ctx context.Context, name string, st *State, cas int) (int, error) {
	return s.putJSON(ctx, KindState, name, st, cas)
}

// GetLedger reads ledger/NAME.
func (s *Store) GetLedger(ctx context.Context, name string) (*Ledger, error) {
	var l Ledger
	v, err := s.getJSON(ctx, KindLedger, name, &l)
	if err != nil {
		return nil, err
	}
	l.Version = v
	return &l, nil
}

// PutLedger writes ledger/NAME if its version is still cas; it returns the new version.
func (s *Store) PutLedger(ctx context.Context, name string, l *Ledger, cas int) (int, error) {
	return s.putJSON(ctx, KindLedger, name, l, cas)
}

// GetToken reads tokens/NAME.
func (s *Store) GetToken(ctx context.Context, name string) (*Token, error) {
	data, v, err := s.readData(ctx, KindTokens, name)
	if err != nil {
		return nil, err
	}
	t := &Token{Version: v}
	str := func(k string) string { x, _ := data[k].(string); return x }
	t.AccessToken = secret.New(str("access_token"))
	t.TokenType = str("token_type")
	t.Scope = str("scope")
	t.CredentialVersion = intField(data["credential_version"])
	t.IssuedAt, _ = time.Parse(time.RFC3339, str("issued_at"))
	path := s.dataPath(KindTokens, name)
	if t.AccessToken.IsZero() {
		return t, &Error{Op: "read", Path: path, Kind: ErrMalformed, Err: fmt.Errorf("the record has no access_token")}
	}
	if t.ExpiresAt, err = time.Parse(time.RFC3339, str("expires_at")); err != nil {
		return t, &Error{Op: "read", Path: path, Kind: ErrMalformed, Err: fmt.Errorf("expires_at %q is not an RFC 3339 time", str("expires_at"))}
	}
	return t, nil
}

// PutToken writes tokens/NAME if its version is still cas; it returns the new version.
func (s *Store) PutToken(ctx context.Context, name string, t *Token, cas int) (int, error) {
	return s.writeData(ctx, KindTokens, name, map[string]any{
		"access_token":       t.AccessToken.Reveal(),
		"token_type":         t.TokenType,
		"issued_at":          dates.FormatTime(t.IssuedAt),
		"expires_at":         t.ExpiresAt.UTC().Format(time.RFC3339),
		"scope":              t.Scope,
		"credential_version": t.CredentialVersion,
	}, cas)
}

// DeleteTokenIf removes tokens/NAME if its current version is still
// version, so that a replica that stopped leading cannot delete a token its
// successor just wrote. KV v2 has no check-and-set on deletion: it re-reads
// the metadata just before deleting, and refuses with ErrCASConflict.
func (s *Store) DeleteTokenIf(ctx context.Context, name string, version int) error {
	m, err := s.readMeta(ctx, KindTokens, name)
	if err != nil {
		return err
	}
	if m.CurrentVersion != version {
		return &Error{Op: "delete", Path: s.metaPath(KindTokens, name), Kind: ErrCASConflict,
			Err: fmt.Errorf("version %d was written after the one to delete (%d)", m.CurrentVersion, version)}
	}
	return s.destroy(ctx, KindTokens, name)
}

// DeleteToken removes tokens/NAME, so that CI reads no token that cannot work.
func (s *Store) DeleteToken(ctx context.Context, name string) error {
	return s.destroy(ctx, KindTokens, name)
}

// Custom metadata keys of pending/NAME: all that the staged pair tells but
// its secret, where the auditor role (which may read metadata, never data)
// can see it.
const (
	metaPendingClientID       = "client_id"
	metaPendingStagedAt       = "staged_at"
	metaPendingRotateBy       = "rotate_by"
	metaPendingStagedVersion  = "staged_version"
	metaPendingLastClass      = "last_class"
	metaPendingCheckedAt      = "checked_at"
	metaPendingCheckedVersion = "checked_version"
)

// PendingInfo is pending/NAME without its secret: what its custom metadata
// says of the pair staged as data version Version.
type PendingInfo struct {
	ClientID  string
	StagedAt  time.Time
	RotateBy  time.Time
	LastClass string // the class of the last check of this version; "" when unchecked
	CheckedAt time.Time
	Version   int
}

// PendingInfo reads pending/NAME's metadata, never its secret. A class
// recorded for an earlier staged version is not reported.
func (s *Store) PendingInfo(ctx context.Context, name string) (*PendingInfo, error) {
	m, err := s.readMeta(ctx, KindPending, name)
	if err != nil {
		return nil, err
	}
	if m.CurrentVersion == 0 {
		return nil, &Error{Op: "read", Path: s.metaPath(KindPending, name), Kind: ErrNotFound}
	}
	return pendingInfo(m), nil
}

func pendingInfo(m *Meta) *PendingInfo {
	c := m.Custom
	info := &PendingInfo{Version: m.CurrentVersion}
	if strconv.Itoa(m.CurrentVersion) != c[metaPendingStagedVersion] {
		return info // written by an older credkeeper, or mid-write: nothing known but its existence
	}
	info.ClientID = c[metaPendingClientID]
	info.StagedAt, _ = time.Parse(time.RFC3339, c[metaPendingStagedAt])
	info.RotateBy, _ = dates.Parse(c[metaPendingRotateBy])
	if c[metaPendingCheckedVersion] == c[metaPendingStagedVersion] {
		info.LastClass = c[metaPendingLastClass]
		info.CheckedAt, _ = time.Parse(time.RFC3339, c[metaPendingCheckedAt])
	}
	return info
}

// GetPending reads pending/NAME: the staged pair from its data, and its
// last check from its metadata.
func (s *Store) GetPending(ctx context.Context, name string) (*Pending, error) {
	data, v, err := s.readData(ctx, KindPending, name)
	if err != nil {
		return nil, err
	}
	str := func(k string) string { x, _ := data[k].(string); return x }
	p := &Pending{
		ClientID:       str("client_id"),
		ClientSecret:   secret.New(str("client_secret")),
		PrivateKey:     secret.New(str("private_key")),
		KeyID:          str("key_id"),
		KeyAlg:         str("key_alg"),
		KeyFingerprint: str("key_fingerprint"),
		LastClass:      str("last_class"), // where an older credkeeper kept it
		Version:        v,
	}
	p.RotateBy, _ = dates.Parse(str("rotate_by"))
	p.StagedAt, _ = time.Parse(time.RFC3339, str("staged_at"))
	p.CheckedAt, _ = time.Parse(time.RFC3339, str("checked_at"))
	m, err := s.readMeta(ctx, KindPending, name)
	if err != nil {
		return nil, err
	}
	if info := pendingInfo(m); info.Version == v && info.LastClass != "" {
		p.LastClass, p.CheckedAt = info.LastClass, info.CheckedAt
	}
	if err := checkPair(p.ClientID, p.ClientSecret, p.PrivateKey); err != nil {
		return p, &Error{Op: "read", Path: s.dataPath(KindPending, name), Kind: ErrMalformed,
			Err: fmt.Errorf("the staged pair lacks its client ID or secret, or holds both a secret and a key"), Hint: "stage it again with credkeeper rotate stage " + name}
	}
	return p, nil
}

// PutPending writes pending/NAME if its version is still cas (the pair in
// its data, the rest in its metadata too), and returns the new version.
// The new version is unchecked until PutPendingResult records its class.
func (s *Store) PutPending(ctx context.Context, name string, p *Pending, cas int) (int, error) {
	data := map[string]any{
		"client_id": p.ClientID,
		"staged_at": dates.FormatTime(p.StagedAt),
		"rotate_by": "",
	}
	putPairSecret(data, p.ClientSecret, p.PrivateKey, p.KeyID, p.KeyAlg, p.KeyFingerprint)
	if !p.RotateBy.IsZero() {
		data["rotate_by"] = dates.Format(p.RotateBy)
	}
	v, err := s.writeData(ctx, KindPending, name, data, cas)
	if err != nil {
		return 0, err
	}
	custom := map[string]string{
		metaPendingClientID:      p.ClientID,
		metaPendingStagedAt:      dates.FormatTime(p.StagedAt),
		metaPendingRotateBy:      data["rotate_by"].(string),
		metaPendingStagedVersion: strconv.Itoa(v),
	}
	return v, s.writeMeta(ctx, KindPending, name, custom, 0)
}

// PutPendingResult records the class of a check of the pair staged as
// version, in pending/NAME's metadata. It refuses with ErrCASConflict when
// another pair was staged since (KV v2 has no check-and-set on metadata:
// it re-reads just before writing).
func (s *Store) PutPendingResult(ctx context.Context, name string, version int, class string, checkedAt time.Time) error {
	m, err := s.readMeta(ctx, KindPending, name)
	if err != nil {
		return err
	}
	if m.CurrentVersion != version || m.Custom[metaPendingStagedVersion] != strconv.Itoa(version) {
		return &Error{Op: "write metadata", Path: s.metaPath(KindPending, name), Kind: ErrCASConflict,
			Err: fmt.Errorf("version %d was staged after the checked version %d", m.CurrentVersion, version)}
	}
	custom := maps.Clone(m.Custom)
	custom[metaPendingLastClass] = class
	custom[metaPendingCheckedAt] = dates.FormatTime(checkedAt)
	custom[metaPendingCheckedVersion] = strconv.Itoa(version)
	return s.writeMeta(ctx, KindPending, name, custom, 0)
}

// DeletePending removes pending/NAME.
func (s *Store) DeletePending(ctx context.Context, name string) error {
	return s.destroy(ctx, KindPending, name)
}

func (s *Store) getJSON(ctx context.Context, kind, name string, v any) (int, error) {
	data, version, err := s.readData(ctx, kind, name)
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(data)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return 0, &Error{Op: "read", Path: s.dataPath(kind, name), Kind: ErrMalformed, Err: err}
	}
	return version, nil
}

func (s *Store) putJSON(ctx context.Context, kind, name string, v any, cas int) (int, error) {
	return s.writeData(ctx, kind, name, v, cas)
}

func intField(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

// Rotation is rotations/NAME: how far an automated rotation has come, so
// that a crash at any step resumes there, and who is running it; the
// request a person made to the provider's support, while it is open; and
// the history of every rotation's steps, for the audit report. It holds
// secret IDs and the hash of the secret the rotation generated (random,
// so its hash tells nothing), never a secret nor the hash of a secret a
// person chose: the auditor role reads it.
type Rotation struct {
	// Step is the automated rotation's last step completed; "" when no
	// automated rotation has run (a record holding a request alone).
	Step string `json:"step"`
	// OldSecretID and NewSecretID are the provider's IDs of the secret
	// being replaced and of its replacement.
	OldSecretID string `json:"old_secret_id,omitempty"`
	NewSecretID string `json:"new_secret_id,omitempty"`
	// NewSecretHash is the hash of the secret the rotation generated,
	// recorded before it asks the provider to create it: a secret listed
	// with this hash is the rotation's own.
	NewSecretHash string `json:"new_secret_hash,omitempty"`
	// NewKeyID is the kid of the key a rotation of a key credential
	// generated, recorded with its public thumbprint (NewSecretHash)
	// before the provider is asked to add it; the private key waits in
	// pending/NAME, never here.
	NewKeyID   string    `json:"new_key_id,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	PromotedAt time.Time `json:"promoted_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// DeactivateAfter, when set, is the earliest the old secret is
	// deactivated again, after a proof of the new one alone failed.
	DeactivateAfter time.Time `json:"deactivate_after,omitzero"`
	// CredentialVersion is the version of credentials/NAME the rotation
	// last saw as its own: at the start, after promotion, and once
	// abandoned, the version that made it stop.
	CredentialVersion int `json:"credential_version,omitempty"`
	// Owner is who runs (or last ran) the rotation; LeaseUntil is how long
	// its claim lasts. Another actor takes no step before then.
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// LastError is why the last attempt stopped, when it did.
	LastError string `json:"last_error,omitempty"`
	// AbandonedReason says why the rotation was abandoned (Step
	// "abandoned"): what changed behind it. Announced is set once the
	// credential's channels were told.
	AbandonedReason string `json:"abandoned_reason,omitempty"`
	Announced       bool   `json:"announced,omitempty"`
	// Request is the open request a person made to the provider's support
	// for a new pair (credkeeper rotate request); nil when none is open.
	// It is independent of Step: a record may hold a request and no
	// automated rotation (Step ""), and an automated rotation never reads
	// it. Promoting a new pair closes it (moves it into History).
	Request *RotationRequest `json:"request,omitempty"`
	// History is every completed step of the credential's rotations,
	// oldest first, appended to and never rewritten; never a secret.
	History []RotationEvent `json:"history,omitempty"`
	Version int             `json:"-"`
}

// RotationRequest is a request a person made to a provider's support for
// a new pair, with the follow-ups made since.
type RotationRequest struct {
	RequestedAt time.Time `json:"requested_at"`
	RequestedBy string    `json:"requested_by,omitempty"`
	Ticket      string    `json:"ticket,omitempty"`
	Note        string    `json:"note,omitempty"`
	// SentTo is the address the request was mailed to (--send); empty
	// when it was only printed.
	SentTo    string            `json:"sent_to,omitempty"`
	FollowUps []RequestFollowUp `json:"follow_ups,omitempty"`
}

// RequestFollowUp is a later request on the same open request.
type RequestFollowUp struct {
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Ticket string    `json:"ticket,omitempty"`
	Note   string    `json:"note,omitempty"`
	SentTo string    `json:"sent_to,omitempty"`
}

// LastAt is when the request was last made or followed up.
func (q *RotationRequest) LastAt() time.Time {
	if n := len(q.FollowUps); n > 0 && q.FollowUps[n-1].At.After(q.RequestedAt) {
		return q.FollowUps[n-1].At
	}
	return q.RequestedAt
}

// LastTicket is the ticket of the request's latest follow-up that named
// one, else the request's own.
func (q *RotationRequest) LastTicket() string {
	for i := len(q.FollowUps) - 1; i >= 0; i-- {
		if q.FollowUps[i].Ticket != "" {
			return q.FollowUps[i].Ticket
		}
	}
	return q.Ticket
}

// The steps a RotationEvent records. The automated rotation's steps
// (started, promoted, retired, abandoned) use the same words.
const (
	EventRequested  = "requested"
	EventFollowedUp = "followed_up"
	EventStaged     = "staged"
	EventProven     = "proven"
	EventPromoted   = "promoted"
	EventRolledBack = "rolled_back"
	EventRetired    = "retired"
	EventStarted    = "started"
	EventAbandoned  = "abandoned"
)

// RotationEvent is one completed step of a rotation, as kept in
// Rotation.History. It names the pair by its client ID, never its secret.
type RotationEvent struct {
	Step   string    `json:"step"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Ticket string    `json:"ticket,omitempty"`
	Note   string    `json:"note,omitempty"`
	// Version is the version of credentials/NAME the step concerns, where
	// one does (promoted: the new version; rolled_back: the version
	// written back).
	Version  int    `json:"version,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// Class is a proof's class (proven: the class of the token request).
	Class string `json:"class,omitempty"`
	// Deadline is the rotate_by the step was against (promoted: the
	// deadline it met or missed).
	Deadline time.Time `json:"deadline,omitzero"`
}

// Append adds ev to the rotation's history.
func (r *Rotation) Append(ev RotationEvent) {
	ev.At = ev.At.UTC().Truncate(time.Second)
	if !ev.Deadline.IsZero() {
		ev.Deadline = ev.Deadline.UTC()
	}
	r.History = append(r.History, ev)
}

// The steps RequestStep reports.
const (
	RequestStepNone      = ""
	RequestStepRequested = "requested"
	RequestStepStaged    = "staged"
	RequestStepDone      = "done"
)

// RequestStep is where the person's rotation stands, from r (nil: no
// record) and whether a pair is staged now: "" (nothing asked, nothing
// staged), "requested" (asked, nothing staged yet), "staged" (a pair
// waits in pending/NAME), or "done" (the last request ended in a
// promotion and nothing is open).
func RequestStep(r *Rotation, staged bool) string {
	switch {
	case staged:
		return RequestStepStaged
	case r != nil && r.Request != nil:
		return RequestStepRequested
	}
	if r != nil {
		for i := len(r.History) - 1; i >= 0; i-- {
			switch r.History[i].Step {
			case EventPromoted:
				return RequestStepDone
			case EventRequested, EventFollowedUp, EventStaged, EventRolledBack:
				return RequestStepNone
			}
		}
	}
	return RequestStepNone
}

// GetRotation reads rotations/NAME.
func (s *Store) GetRotation(ctx context.Context, name string) (*Rotation, error) {
	var r Rotation
	v, err := s.getJSON(ctx, KindRotations, name, &r)
	if err != nil {
		return nil, err
	}
	r.Version = v
	return &r, nil
}

// PutRotation writes rotations/NAME if its version is still cas; it
// returns the new version.
func (s *Store) PutRotation(ctx context.Context, name string, r *Rotation, cas int) (int, error) {
	return s.putJSON(ctx, KindRotations, name, r, cas)
}

// RotationNames lists the credentials that have a rotations/NAME record:
// one list request.
func (s *Store) RotationNames(ctx context.Context) ([]string, error) {
	return s.list(ctx, KindRotations)
}
