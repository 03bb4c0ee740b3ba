package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// BasicAuth is the users allowed in when the daemon's pages are exposed
// without an authenticating proxy: bcrypt hashes by user name, as
// Prometheus's web configuration keeps them.
type BasicAuth struct {
	users map[string][]byte
	// decoy is what an unknown user's password is compared with: a hash of
	// a random password at the costliest of the file's costs, so that a
	// refusal takes as long whether or not the name is in the file.
	decoy []byte
	// compare checks a password against a bcrypt hash.
	compare func(hash, password []byte) error

	mu sync.Mutex
	ok map[[32]byte]bool // user and password already verified: bcrypt is slow on purpose
}

// LoadBasicAuthFile reads USER:BCRYPT-HASH lines (htpasswd -nbB's
// format; # comments and blank lines allowed).
func LoadBasicAuthFile(path string) (*BasicAuth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--web-basic-auth-file: %w", err)
	}
	a := &BasicAuth{users: map[string][]byte{}, ok: map[[32]byte]bool{}, compare: bcrypt.CompareHashAndPassword}
	sc := bufio.NewScanner(bytes.NewReader(b))
	maxCost := bcrypt.MinCost
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%s:%d: want USER:BCRYPT-HASH (make one with htpasswd -nbB USER PASSWORD)", path, n)
		}
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: the hash of %s is not a bcrypt hash (make one with htpasswd -nbB %s PASSWORD)", path, n, user, user)
		}
		maxCost = max(maxCost, cost)
		a.users[user] = []byte(hash)
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("%s: no USER:BCRYPT-HASH line: nobody could sign in", path)
	}
	if a.decoy, err = decoyHash(maxCost); err != nil {
		return nil, fmt.Errorf("--web-basic-auth-file: %w", err)
	}
	return a, nil
}

// Wrap asks for a user and password before next, answering 401 with a
// challenge otherwise.
func (a *BasicAuth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || !a.allowed(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="credkeeper", charset="UTF-8"`)
			http.Error(w, "sign in to see credkeeper's status", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *BasicAuth) allowed(user, pass string) bool {
	hash, known := a.users[user]
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	a.mu.Lock()
	cached := a.ok[key]
	a.mu.Unlock()
	if cached {
		return true
	}
	if !known {
		// Spend the time a known user would, so that names do not show.
		_ = a.compare(a.decoy, []byte(pass))
		return false
	}
	if a.compare(hash, []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	a.ok[key] = true
	a.mu.Unlock()
	return true
}

// decoyHash is a bcrypt hash at cost of a random password nobody knows.
func decoyHash(cost int) ([]byte, error) {
	pass := make([]byte, 32)
	if _, err := rand.Read(pass); err != nil {
		return nil, fmt.Errorf("no random password for unknown users: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(pass)), cost)
	if err != nil {
		return nil, fmt.Errorf("no hash for unknown users at cost %d: %w", cost, err)
	}
	return h, nil
}
