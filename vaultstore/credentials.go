package vaultstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/credkeeper/credkeeper/internal/dates"
	"github.com/credkeeper/credkeeper/internal/parallel"
	"github.com/credkeeper/credkeeper/internal/secret"
)

// MinMaxVersions is the least KV history a credential keeps, so that a
// rotation can be rolled back.
const MinMaxVersions = 10

// Custom metadata keys of credentials/NAME.
const (
	metaProvider    = "provider"
	metaEnvironment = "environment"
	metaOwner       = "owner"
	metaIssuedAt    = "issued_at"
	metaRotateBy    = "rotate_by"
	metaRotation    = "rotation"
	// A key credential's public description, written with each version's
	// data (never the key itself).
	metaKeyAlg         = "key_alg"
	metaKeyID          = "key_id"
	metaKeyFingerprint = "key_fingerprint"
)

// Credential is credentials/NAME: an OAuth2 client's ID and either its
// secret or its private key (PEM) with the key's ID and algorithm, never
// both.
type Credential struct {
	Name         string
	ClientID     string
	ClientSecret secret.Value
	// PrivateKey is the client's private key as PEM, for private_key_jwt;
	// KeyID and KeyAlg name it. Empty for a credential with a secret.
	PrivateKey secret.Value
	KeyID      string
	KeyAlg     string
	// KeyFingerprint is the public key's thumbprint, safe to show.
	KeyFingerprint string
	// AccessToken is a stored long-lived token (a user grant); usually
	// empty. Grant describes it.
	AccessToken secret.Value
	Grant       StoredGrant
	Metadata    CredentialMetadata
	// Version is the KV version the data was read from or written as.
	Version int
}

// StoredGrant describes a stored user grant's token.
type StoredGrant struct {
	TokenType string
	Scope     string    // as the provider granted it
	CreatedAt time.Time // when the provider issued it
	ExpiresAt time.Time // zero when the provider gave no lifetime
}

// CredentialMetadata is what credkeeper keeps in a credential's KV v2
// custom metadata. It holds no secret, so anyone allowed to read metadata
// (the auditor role) sees it.
type CredentialMetadata struct {
	Provider    string
	Environment string
	Owner       string
	Rotation    string    // the rotation policy's name
	IssuedAt    time.Time // a date, UTC; zero when unknown
	RotateBy    time.Time // a date, UTC; zero when unknown
	// Key describes the current version's private key, if it holds one:
	// PutCredential writes it from the data, and a metadata write that
	// leaves it zero keeps what Vault has.
	Key KeyInfo
}

// KeyInfo is a private key's public description: algorithm, key ID and
// public fingerprint.
type KeyInfo struct {
	Alg         string
	ID          string
	Fingerprint string
}

// IsZero reports whether k describes no key.
func (k KeyInfo) IsZero() bool { return k == KeyInfo{} }

// CredentialInfo is a credential as listings show it: metadata, never data.
type CredentialInfo struct {
	Name        string
	Metadata    CredentialMetadata
	Version     int
	MaxVersions int
	UpdatedTime time.Time
	// Fingerprint changes whenever the data version or any metadata
	// changes; PutCredentialMetadata refuses when it moved.
	Fingerprint string
}

func (m CredentialMetadata) toCustom() map[string]string {
	c := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			c[k] = v
		}
	}
	set(metaProvider, m.Provider)
	set(metaEnvironment, m.Environment)
	set(metaOwner, m.Owner)
	set(metaRotation, m.Rotation)
	if !m.IssuedAt.IsZero() {
		c[metaIssuedAt] = dates.Format(m.IssuedAt)
	}
	if !m.RotateBy.IsZero() {
		c[metaRotateBy] = dates.Format(m.RotateBy)
	}
	set(metaKeyAlg, m.Key.Alg)
	set(metaKeyID, m.Key.ID)
	set(metaKeyFingerprint, m.Key.Fingerprint)
	return c
}

func metadataFromCustom(path string, c map[string]string) (CredentialMetadata, error) {
	m := CredentialMetadata{
		Provider:    c[metaProvider],
		Environment: c[metaEnvironment],
		Owner:       c[metaOwner],
		Rotation:    c[metaRotation],
		Key:         KeyInfo{Alg: c[metaKeyAlg], ID: c[metaKeyID], Fingerprint: c[metaKeyFingerprint]},
	}
	var err error
	if m.IssuedAt, err = dates.Parse(c[metaIssuedAt]); err != nil {
		return m, &Error{Op: "read metadata", Path: path, Kind: ErrMalformed, Err: fmt.Errorf("issued_at: %w", err),
			Hint: "fix the custom metadata in Vault, or set it again with credkeeper secret set"}
	}
	if m.RotateBy, err = dates.Parse(c[metaRotateBy]); err != nil {
		return m, &Error{Op: "read metadata", Path: path, Kind: ErrMalformed, Err: fmt.Errorf("rotate_by: %w", err),
			Hint: "fix the custom metadata in Vault, or set it again with credkeeper secret set"}
	}
	return m, nil
}

// GetCredential reads credentials/NAME: its latest data and its metadata.
// A record lacking client_id or client_secret is returned as far as it goes,
// with an error of kind ErrMalformed naming the missing field.
func (s *Store) GetCredential(ctx context.Context, name string) (*Credential, error) {
	data, version, err := s.readData(ctx, KindCredentials, name)
	if err != nil {
		return nil, err
	}
	meta, err := s.readMeta(ctx, KindCredentials, name)
	if err != nil {
		return nil, err
	}
	c := &Credential{Name: name, Version: version}
	c.Metadata, err = metadataFromCustom(s.metaPath(KindCredentials, name), meta.Custom)
	if err != nil {
		return c, err
	}
	return c, decodeCredentialData(c, data, s.dataPath(KindCredentials, name))
}

func decodeCredentialData(c *Credential, data map[string]any, path string) error {
	var missing []string
	str := func(key string, required bool) string {
		v, ok := data[key].(string)
		if required && (!ok || v == "") {
			missing = append(missing, key)
		}
		return v
	}
	c.ClientID = str("client_id", true)
	c.PrivateKey = secret.New(str("private_key", false))
	c.KeyID = str("key_id", false)
	c.KeyAlg = str("key_alg", false)
	c.KeyFingerprint = str("key_fingerprint", false)
	c.ClientSecret = secret.New(str("client_secret", c.PrivateKey.IsZero()))
	c.AccessToken = secret.New(str("access_token", false))
	c.Grant.TokenType = str("token_type", false)
	c.Grant.Scope = str("scope", false)
	c.Grant.CreatedAt, _ = time.Parse(time.RFC3339, str("token_created_at", false))
	c.Grant.ExpiresAt, _ = time.Parse(time.RFC3339, str("token_expires_at", false))
	if !c.PrivateKey.IsZero() && !c.ClientSecret.IsZero() {
		return &Error{Op: "read", Path: path, Kind: ErrMalformed,
			Err:  fmt.Errorf("the record holds both a client secret and a private key"),
			Hint: "set the pair again with credkeeper secret set " + c.Name}
	}
	if len(missing) > 0 {
		return &Error{Op: "read", Path: path, Kind: ErrMalformed,
			Err:  fmt.Errorf("the record has no %s", strings.Join(missing, " or ")),
			Hint: "set the pair with credkeeper secret set " + c.Name}
	}
	return nil
}

// HasKey reports whether the credential authenticates with a private key
// (private_key_jwt) rather than a secret.
func (c *Credential) HasKey() bool { return !c.PrivateKey.IsZero() }

// checkPair refuses a pair that lacks its client ID, or holds neither or
// both of a secret and a key.
func checkPair(clientID string, clientSecret, privateKey secret.Value) error {
	switch {
	case clientID == "" || (clientSecret.IsZero() && privateKey.IsZero()):
		return fmt.Errorf("a credential needs both a client ID and a client secret or private key")
	case !clientSecret.IsZero() && !privateKey.IsZero():
		return fmt.Errorf("a credential holds a client secret or a private key, not both")
	}
	return nil
}

// putPairSecret adds the pair's secret or key to a record's data.
func putPairSecret(data map[string]any, clientSecret, privateKey secret.Value, keyID, keyAlg, keyFingerprint string) {
	if !privateKey.IsZero() {
		data["private_key"] = privateKey.Reveal()
		data["key_id"] = keyID
		data["key_alg"] = keyAlg
		data["key_fingerprint"] = keyFingerprint
		return
	}
	data["client_secret"] = clientSecret.Reveal()
}

// credentialData is what a version of credentials/NAME holds: the pair,
// and the pair's own issue date and deadline, so that rolling back to a
// version can restore its dates too.
func credentialData(c *Credential) map[string]any {
	data := map[string]any{"client_id": c.ClientID}
	putPairSecret(data, c.ClientSecret, c.PrivateKey, c.KeyID, c.KeyAlg, c.KeyFingerprint)
	if !c.Metadata.IssuedAt.IsZero() {
		data["issued_at"] = dates.Format(c.Metadata.IssuedAt)
	}
	if !c.Metadata.RotateBy.IsZero() {
		data["rotate_by"] = dates.Format(c.Metadata.RotateBy)
	}
	if !c.AccessToken.IsZero() {
		data["access_token"] = c.AccessToken.Reveal()
		data["token_type"] = c.Grant.TokenType
		data["scope"] = c.Grant.Scope
		if !c.Grant.CreatedAt.IsZero() {
			data["token_created_at"] = dates.FormatTime(c.Grant.CreatedAt)
		}
		if !c.Grant.ExpiresAt.IsZero() {
			data["token_expires_at"] = dates.FormatTime(c.Grant.ExpiresAt)
		}
	}
	return data
}

// PutCredential writes c as a new version of credentials/NAME if the
// current version is still cas (0: only if none exists), then sets its
// custom metadata. It returns the new version.
func (s *Store) PutCredential(ctx context.Context, c *Credential, cas int) (int, error) {
	if err := checkPair(c.ClientID, c.ClientSecret, c.PrivateKey); err != nil {
		return 0, &Error{Op: "write", Path: s.dataPath(KindCredentials, c.Name), Kind: ErrMalformed, Err: err}
	}
	version, err := s.writeData(ctx, KindCredentials, c.Name, credentialData(c), cas)
	if err != nil {
		return 0, err
	}
	meta, err := s.readMeta(ctx, KindCredentials, c.Name)
	if err != nil {
		return version, err
	}
	if meta.CurrentVersion != version {
		return version, &Error{Op: "write metadata", Path: s.metaPath(KindCredentials, c.Name), Kind: ErrCASConflict,
			Err: fmt.Errorf("version %d was written after ours (%d)", meta.CurrentVersion, version)}
	}
	c.Metadata.Key = KeyInfo{}
	if c.HasKey() {
		c.Metadata.Key = KeyInfo{Alg: c.KeyAlg, ID: c.KeyID, Fingerprint: c.KeyFingerprint}
	}
	if err := s.writeMeta(ctx, KindCredentials, c.Name, c.Metadata.toCustom(), raisedHistory(meta.MaxVersions)); err != nil {
		return version, err
	}
	c.Version = version
	return version, nil
}

// PutCredentialMetadata replaces a credential's custom metadata. KV v2 has
// no check-and-set for metadata, so it re-reads the metadata first and
// refuses with ErrCASConflict when its fingerprint is no longer
// ifFingerprint (see CredentialInfo.Fingerprint). The data is not touched.
func (s *Store) PutCredentialMetadata(ctx context.Context, name string, m CredentialMetadata, ifFingerprint string) error {
	cur, err := s.readMeta(ctx, KindCredentials, name)
	if err != nil {
		return err
	}
	if fp := cur.Fingerprint(); fp != ifFingerprint {
		return &Error{Op: "write metadata", Path: s.metaPath(KindCredentials, name), Kind: ErrCASConflict,
			Err:  fmt.Errorf("its version or metadata changed since it was read"),
			Hint: "read it again and retry"}
	}
	if m.Key.IsZero() { // the key's description follows the data, not the declaration
		m.Key = KeyInfo{Alg: cur.Custom[metaKeyAlg], ID: cur.Custom[metaKeyID], Fingerprint: cur.Custom[metaKeyFingerprint]}
	}
	return s.writeMeta(ctx, KindCredentials, name, m.toCustom(), raisedHistory(cur.MaxVersions))
}

// CredentialInfo reads a credential's metadata only (never its secret).
func (s *Store) CredentialInfo(ctx context.Context, name string) (*CredentialInfo, error) {
	meta, err := s.readMeta(ctx, KindCredentials, name)
	if err != nil {
		return nil, err
	}
	md, err := metadataFromCustom(s.metaPath(KindCredentials, name), meta.Custom)
	if err != nil {
		return nil, err
	}
	return &CredentialInfo{Name: name, Metadata: md, Version: meta.CurrentVersion, MaxVersions: meta.MaxVersions,
		UpdatedTime: meta.UpdatedTime, Fingerprint: meta.Fingerprint()}, nil
}

// listConcurrency bounds the metadata reads of one listing.
const listConcurrency = 16

// CredentialNames lists the credentials' names: one list request, no
// metadata read.
func (s *Store) CredentialNames(ctx context.Context) ([]string, error) {
	names, err := s.list(ctx, KindCredentials)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool { return ValidateName(n) != nil }), nil // not records credkeeper wrote
}

// ListCredentials returns every credential's metadata, sorted by name.
// It reads metadata only: one list request, then one read per credential,
// several at a time.
func (s *Store) ListCredentials(ctx context.Context) ([]CredentialInfo, error) {
	names, err := s.list(ctx, KindCredentials)
	if err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return ValidateName(n) != nil }) // not records credkeeper wrote
	infos := make([]CredentialInfo, len(names))
	errs := make([]error, len(names))
	parallel.Do(len(names), listConcurrency, func(i int) {
		info, err := s.CredentialInfo(ctx, names[i])
		if err != nil {
			errs[i] = err
			return
		}
		infos[i] = *info
	})
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrNotFound) { // deleted since the list: skip
			return nil, err
		}
	}
	out := infos[:0]
	for i, info := range infos {
		if errs[i] == nil {
			out = append(out, info)
		}
	}
	return out, nil
}

// CreateCredentialMetadata creates credentials/NAME with metadata and no
// data yet (the secret is set later), refusing with ErrCASConflict when
// the key already exists.
func (s *Store) CreateCredentialMetadata(ctx context.Context, name string, m CredentialMetadata) error {
	_, err := s.readMeta(ctx, KindCredentials, name)
	switch {
	case err == nil:
		return &Error{Op: "create metadata", Path: s.metaPath(KindCredentials, name), Kind: ErrCASConflict,
			Err: errors.New("it was created since it was read"), Hint: "read it again and retry"}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return s.writeMeta(ctx, KindCredentials, name, m.toCustom(), MinMaxVersions)
}

// RecordKinds are the kinds of record kept for a credential, in the order
// DeleteAll removes them: credentials/NAME last, so that a delete stopped
// midway leaves the credential, and a plan that deletes it again.
var RecordKinds = []string{KindTokens, KindPending, KindState, KindLedger, KindSilences, KindRotations, KindCredentials}

// DeleteAll removes a credential and every record kept for it: its
// published token, staged pair, state, ledger, silence and rotation
// records, then credentials/NAME with all its versions. A credential
// declared again under the same name later inherits none of them.
func (s *Store) DeleteAll(ctx context.Context, name string) error {
	for _, kind := range RecordKinds {
		if err := s.destroy(ctx, kind, name); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// Records returns the records kept under the prefix by credential name,
// each as KIND/NAME, sorted: one list request per kind of RecordKinds.
// Names credkeeper would not write are left out.
func (s *Store) Records(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, kind := range RecordKinds {
		names, err := s.list(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if ValidateName(n) == nil {
				out[n] = append(out[n], kind+"/"+n)
			}
		}
	}
	for _, paths := range out {
		slices.Sort(paths)
	}
	return out, nil
}

// VersionInfo is one version of a credential in KV v2's history.
type VersionInfo struct {
	Version     int
	CreatedTime time.Time
	Deleted     bool // deleted or destroyed: its data cannot be read back
}

// CredentialVersions lists a credential's versions still in KV v2's
// history, oldest first.
func (s *Store) CredentialVersions(ctx context.Context, name string) ([]VersionInfo, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	list, err := s.kv.GetVersionsAsList(ctx, s.relPath(KindCredentials, name))
	if err != nil {
		return nil, wrapErr("read metadata", s.metaPath(KindCredentials, name), s.Address(), err)
	}
	out := make([]VersionInfo, 0, len(list))
	for _, v := range list {
		out = append(out, VersionInfo{Version: v.Version, CreatedTime: v.CreatedTime, Deleted: !v.DeletionTime.IsZero() || v.Destroyed})
	}
	return out, nil
}

// GetCredentialVersion reads one version of credentials/NAME. Its Metadata
// carries the current custom metadata, with IssuedAt and RotateBy as that
// version recorded them (when it did).
func (s *Store) GetCredentialVersion(ctx context.Context, name string, version int) (*Credential, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	path := fmt.Sprintf("%s?version=%d", s.dataPath(KindCredentials, name), version)
	sec, err := s.kv.GetVersion(ctx, s.relPath(KindCredentials, name), version)
	if err != nil {
		return nil, wrapErr("read", path, s.Address(), err)
	}
	if sec.Data == nil {
		return nil, &Error{Op: "read", Path: path, Kind: ErrNotFound, Hint: "that version was deleted or destroyed"}
	}
	info, err := s.CredentialInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	c := &Credential{Name: name, Version: version, Metadata: info.Metadata}
	if err := decodeCredentialData(c, sec.Data, path); err != nil {
		return c, err
	}
	if d, err := dates.Parse(stringField(sec.Data, "issued_at")); err == nil && !d.IsZero() {
		c.Metadata.IssuedAt = d
	}
	if d, err := dates.Parse(stringField(sec.Data, "rotate_by")); err == nil && !d.IsZero() {
		c.Metadata.RotateBy = d
	}
	return c, nil
}

func stringField(data map[string]any, key string) string {
	v, _ := data[key].(string)
	return v
}

// Staged returns the set of credentials with a staged pair, from one list
// request.
func (s *Store) Staged(ctx context.Context) (map[string]bool, error) {
	names, err := s.list(ctx, KindPending)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}

// DeleteCredential removes credentials/NAME with all its versions.
func (s *Store) DeleteCredential(ctx context.Context, name string) error {
	return s.destroy(ctx, KindCredentials, name)
}

// WithPair is a new credential named name with p's pair (client ID and
// secret, or key) and metadata md: what promoting p writes.
func (p *Pending) WithPair(name string, md CredentialMetadata) *Credential {
	return &Credential{Name: name, ClientID: p.ClientID, ClientSecret: p.ClientSecret, PrivateKey: p.PrivateKey,
		KeyID: p.KeyID, KeyAlg: p.KeyAlg, KeyFingerprint: p.KeyFingerprint, Metadata: md}
}

// PairOnly is a new credential with c's name, pair (client ID and secret,
// or key) and metadata, without its stored user grant or version: what
// rolling back to c writes.
func (c *Credential) PairOnly() *Credential {
	return &Credential{Name: c.Name, ClientID: c.ClientID, ClientSecret: c.ClientSecret, PrivateKey: c.PrivateKey,
		KeyID: c.KeyID, KeyAlg: c.KeyAlg, KeyFingerprint: c.KeyFingerprint, Metadata: c.Metadata}
}

// SamePair reports whether c holds p's pair.
func (c *Credential) SamePair(p *Pending) bool {
	return c.ClientID == p.ClientID && c.ClientSecret.Equal(p.ClientSecret) && c.PrivateKey.Equal(p.PrivateKey) && c.KeyID == p.KeyID
}
