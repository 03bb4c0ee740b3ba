// Package webhook posts notices as JSON to any URL, signed with HMAC-SHA256
// so the receiver can tell them from forgeries.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jonboulle/clockwork"

	"github.com/credkeeper/credkeeper/internal/secret"
	"github.com/credkeeper/credkeeper/notify"
)

// Headers of a signed notice.
const (
	TimestampHeader = "X-Credkeeper-Timestamp"
	SignatureHeader = "X-Credkeeper-Signature"
)

// Config is a notifier "webhook" block.
type Config struct {
	URL            string
	HMACSecretFile string // optional
}

// Notifier posts to one URL.
type Notifier struct {
	url    string
	key    secret.Value
	client *http.Client
	clock  clockwork.Clock
}

// New reads the HMAC secret, if any, from its file. clock dates each
// signed notice (the timestamp header).
func New(c Config, client *http.Client, clock clockwork.Clock) (*Notifier, error) {
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return nil, fmt.Errorf("%w: webhook url %q is not an http(s) URL", notify.ErrConfig, c.URL)
	}
	w := &Notifier{url: c.URL, client: client, clock: clock}
	if c.HMACSecretFile != "" {
		key, err := notify.ReadSecretFile(c.HMACSecretFile, "the webhook HMAC secret")
		if err != nil {
			return nil, err
		}
		w.key = key
	}
	w.client = notify.HTTPClient(w.client)
	return w, nil
}

// Sign is the signature header's value: sha256=<hex of HMAC-SHA256(key,
// timestamp + "." + body)>.
func Sign(key []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify implements notify.Notifier.
func (w *Notifier) Notify(ctx context.Context, n notify.Notice) (bool, error) {
	body, _ := json.Marshal(n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	ts := strconv.FormatInt(w.clock.Now().Unix(), 10)
	req.Header.Set(TimestampHeader, ts)
	if !w.key.IsZero() {
		req.Header.Set(SignatureHeader, Sign([]byte(w.key.Reveal()), ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// Name the host only: a webhook's path often carries its token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("post to the webhook at %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	return notify.RetryableStatus(resp.StatusCode), &notify.StatusError{Service: "the webhook", Status: resp.StatusCode}
}
