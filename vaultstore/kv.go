package vaultstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Record kinds: the folders under the prefix.
const (
	KindCredentials = "credentials"
	KindPending     = "pending"
	KindState       = "state"
	KindTokens      = "tokens"
	KindLedger      = "ledger"
	KindLeases      = "leases"
	KindRotations   = "rotations"
	KindSilences    = "silences"
)

// Meta is a key's KV v2 metadata: its versions and custom metadata.
type Meta struct {
	CurrentVersion int
	UpdatedTime    time.Time
	MaxVersions    int
	Custom         map[string]string
}

// Fingerprint identifies this exact state of a key: its current version,
// update time, max_versions and custom metadata. KV v2 moves updated_time
// only when data is written, not when metadata is, so a hand edit of
// custom metadata shows in the fingerprint but not in updated_time.
func (m *Meta) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "v=%d\nu=%s\nmax=%d\n", m.CurrentVersion, m.UpdatedTime.UTC().Format(time.RFC3339Nano), m.MaxVersions)
	keys := make([]string, 0, len(m.Custom))
	for k := range m.Custom {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q\n", k, m.Custom[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// relPath is the path of a record under the mount: PREFIX/KIND/NAME.
func (s *Store) relPath(kind, name string) string {
	return s.prefix + "/" + kind + "/" + name
}

// dataPath is the full API path of a record's data, for messages.
func (s *Store) dataPath(kind, name string) string {
	return s.mount + "/data/" + s.relPath(kind, name)
}

func (s *Store) metaPath(kind, name string) string {
	return s.mount + "/metadata/" + s.relPath(kind, name)
}

// readData reads the latest version of a record.
func (s *Store) readData(ctx context.Context, kind, name string) (map[string]any, int, error) {
	if err := ValidateName(name); err != nil {
		return nil, 0, err
	}
	sec, err := s.kv.Get(ctx, s.relPath(kind, name))
	if err != nil {
		return nil, 0, wrapErr("read", s.dataPath(kind, name), s.Address(), err)
	}
	if sec.Data == nil {
		// The latest version was deleted.
		return nil, 0, &Error{Op: "read", Path: s.dataPath(kind, name), Kind: ErrNotFound}
	}
	v := 0
	if sec.VersionMetadata != nil {
		v = sec.VersionMetadata.Version
	}
	return sec.Data, v, nil
}

// writeData writes a new version of a record if its current version is
// still cas (0: only if the record does not exist). It returns the new
// version. data is anything that encodes to a JSON object.
//
// It goes through the API's WriteWithContext, which reads the answer
// before it returns: WriteRawWithContext cancels the request's context as
// it returns, before its caller can read the answer, and the transport
// then closes the connection: each check dialed Vault again.
func (s *Store) writeData(ctx context.Context, kind, name string, data any, cas int) (int, error) {
	if err := ValidateName(name); err != nil {
		return 0, err
	}
	path := s.dataPath(kind, name)
	// data goes into the request as it is: the request is encoded once,
	// record and all (encoding the record first, into a json.RawMessage,
	// would encode it, then compact it again into the request).
	body := map[string]any{"options": map[string]int{"cas": cas}, "data": data}
	sec, err := s.client.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return 0, wrapErr("write", path, s.Address(), err)
	}
	if sec == nil || intField(sec.Data["version"]) == 0 {
		return 0, &Error{Op: "write", Path: path, Err: errors.New("vault returned no version")}
	}
	return intField(sec.Data["version"]), nil
}

// readMeta reads a record's KV v2 metadata (decoded here, not through
// the API's secret parsing: it is read at every check).
func (s *Store) readMeta(ctx context.Context, kind, name string) (*Meta, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.client.ClientTimeout())
	defer cancel()
	resp, err := s.client.Logical().ReadRawWithContext(ctx, s.metaPath(kind, name))
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return nil, wrapErr("read metadata", s.metaPath(kind, name), s.Address(), err)
	}
	var out struct {
		Data struct {
			CurrentVersion int            `json:"current_version"`
			UpdatedTime    time.Time      `json:"updated_time"`
			MaxVersions    int            `json:"max_versions"`
			CustomMetadata map[string]any `json:"custom_metadata"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, &Error{Op: "read metadata", Path: s.metaPath(kind, name), Kind: ErrMalformed, Err: err}
	}
	m := out.Data
	custom := make(map[string]string, len(m.CustomMetadata))
	for k, v := range m.CustomMetadata {
		if sv, ok := v.(string); ok {
			custom[k] = sv
		}
	}
	return &Meta{CurrentVersion: m.CurrentVersion, UpdatedTime: m.UpdatedTime, MaxVersions: m.MaxVersions, Custom: custom}, nil
}

// writeMeta replaces a record's custom metadata, and sets max_versions
// when maxVersions is above 0 (0 leaves it as it is). It sends nothing
// else: the roles' policies let the daemon send custom_metadata alone,
// and no role delete_version_after or cas_required. The caller has just
// read the metadata and decided from it.
func (s *Store) writeMeta(ctx context.Context, kind, name string, custom map[string]string, maxVersions int) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	cm := make(map[string]any, len(custom))
	for k, v := range custom {
		if v != "" { // KV v2 refuses empty values; absent reads back as ""
			cm[k] = v
		}
	}
	body := map[string]any{"custom_metadata": cm}
	if maxVersions > 0 {
		body["max_versions"] = maxVersions
	}
	_, err := s.client.Logical().WriteWithContext(ctx, s.metaPath(kind, name), body)
	return wrapErr("write metadata", s.metaPath(kind, name), s.Address(), err)
}

// raisedHistory is the max_versions a credential's metadata write sends:
// MinMaxVersions when it keeps fewer versions (0, Vault's default,
// included), else 0, which leaves it alone.
func raisedHistory(current int) int {
	if current < MinMaxVersions {
		return MinMaxVersions
	}
	return 0
}

// list returns the names of the records of one kind, sorted.
func (s *Store) list(ctx context.Context, kind string) ([]string, error) {
	path := s.mount + "/metadata/" + s.prefix + "/" + kind
	sec, err := s.client.Logical().ListWithContext(ctx, path)
	if err != nil {
		return nil, wrapErr("list", path, s.Address(), err)
	}
	if sec == nil || sec.Data == nil {
		return nil, nil
	}
	raw, _ := sec.Data["keys"].([]any)
	names := make([]string, 0, len(raw))
	for _, k := range raw {
		name, ok := k.(string)
		if !ok || strings.HasSuffix(name, "/") {
			continue // a folder: not one of ours
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// destroy removes a record with all its versions and metadata.
func (s *Store) destroy(ctx context.Context, kind, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	err := s.kv.DeleteMetadata(ctx, s.relPath(kind, name))
	return wrapErr("delete", s.metaPath(kind, name), s.Address(), err)
}
