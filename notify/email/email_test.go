package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/credkeeper/credkeeper/notify"
	"github.com/credkeeper/credkeeper/notify/notifytest"
)

// relay is a real SMTP server on loopback (github.com/emersion/go-smtp)
// that requires STARTTLS and PLAIN authentication and keeps what it gets.
type relay struct {
	user, password string
	mu             sync.Mutex
	msgs           [][]byte
	rcpts          []string
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{r: r}, nil }

type session struct {
	r      *relay
	authed bool
	rcpts  []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, b)
	s.r.rcpts = append(s.r.rcpts, s.rcpts...)
	s.r.mu.Unlock()
	return nil
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// testCert is a self-signed certificate for 127.0.0.1, written as a CA file.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, caFile
}

func startRelay(t *testing.T, r *relay, cert tls.Certificate) string {
	t.Helper()
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

const smtpPassword = "Smtp-P4ssword-Never-Shown"

func TestEmailOverSTARTTLSWithLogin(t *testing.T) {
	cert, caFile := testCert(t)
	r := &relay{user: "credkeeper", password: smtpPassword}
	addr := startRelay(t, r, cert)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	_ = os.WriteFile(pwFile, []byte(smtpPassword+"\n"), 0o600)

	n, err := New(Config{SMTP: addr, From: "credkeeper@example.org", To: []string{"security@example.org", "oncall@example.org"},
		Username: "credkeeper", PasswordFile: pwFile, StartTLS: true, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	notice := notify.Notice{Key: "reminder/ctrp-prod/2027-03-01/14d", Kind: "reminder", Credential: "ctrp-prod", Environment: "prod",
		Deadline: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), DaysLeft: 14, Class: "ok",
		Summary: "ctrp-prod must be rotated by 2027-03-01", Action: "request the new pair from CTRP support"}
	if retry, err := n.Notify(context.Background(), notice); err != nil {
		t.Fatalf("Notify: retry %v, %v", retry, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) != 1 || len(r.rcpts) != 2 {
		t.Fatalf("the relay got %d messages for %v", len(r.msgs), r.rcpts)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(r.msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[credkeeper] ctrp-prod (prod) must be rotated by 2027-03-01: 14 days left" || msg.Header.Get("X-Credkeeper-Key") != notice.Key {
		t.Errorf("headers: subject %q key %q", subject, msg.Header.Get("X-Credkeeper-Key"))
	}
	media, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if media != "multipart/alternative" {
		t.Fatalf("content type %q", media)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "Days left:    14") || !strings.Contains(parts["text/html"], "<pre") {
		t.Errorf("parts: %v", parts)
	}
	notifytest.AssertNoSecret(t, "the message", []string{string(r.msgs[0])}, smtpPassword)
	if bytes.Contains(r.msgs[0], []byte(smtpPassword)) {
		t.Error("the password is in the message")
	}
}

func TestWrongPasswordFailsClearlyAndIsNotRetried(t *testing.T) {
	cert, caFile := testCert(t)
	addr := startRelay(t, &relay{user: "credkeeper", password: "the-right-one"}, cert)
	pwFile := filepath.Join(t.TempDir(), "smtp-password")
	_ = os.WriteFile(pwFile, []byte(smtpPassword), 0o600)
	n, err := New(Config{SMTP: addr, From: "credkeeper@example.org", To: []string{"security@example.org"}, Username: "credkeeper", PasswordFile: pwFile, StartTLS: true, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	nt := notify.Notice{Key: "k", Kind: "test", Credential: "c", Summary: "s"}
	retry, err := n.Notify(context.Background(), nt)
	if err == nil || retry || !strings.Contains(err.Error(), "refused the login for credkeeper") {
		t.Errorf("wrong password: retry %v, %v", retry, err)
	}
	notifytest.AssertNotifyLeaksNoSecret(t, context.Background(), n, nt, smtpPassword)
}

func TestAnUntrustedCertificateIsRefused(t *testing.T) {
	cert, _ := testCert(t)
	addr := startRelay(t, &relay{user: "u", password: "p"}, cert)
	_, otherCA := testCert(t)
	n, err := New(Config{SMTP: addr, From: "a@example.org", To: []string{"b@example.org"}, StartTLS: true, CAFile: otherCA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), notify.Notice{Key: "k", Kind: "test", Credential: "c"}); err == nil {
		t.Error("STARTTLS with a certificate nobody vouches for succeeded")
	}
}
