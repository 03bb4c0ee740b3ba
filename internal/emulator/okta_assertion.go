package emulator

import (
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Okta's invalid_client descriptions for a client assertion
// (private_key_jwt) it refuses. The kid and signature wordings are Okta's
// own (its support articles "Okta Client Assertion Error: Invalid Key ID"
// and "Invalid Client Assertion Signature"); the others follow Okta's
// client-authentication guide's rules (aud the token endpoint, exp at
// most an hour ahead, a jti used once) in Okta's phrasing.
const (
	OktaAssertionMalformed   = "The client_assertion token is invalid."
	OktaAssertionKidInvalid  = "The client_assertion JWT kid is invalid."
	OktaAssertionSignature   = "The client_assertion signature is invalid."
	OktaAssertionIssuer      = "The client_assertion token must have the client_id as its 'iss' and 'sub' claims."
	OktaAssertionAudience    = "The audience claim for client_assertion must be the endpoint invoking the client_assertion."
	OktaAssertionExpired     = "The client_assertion token is expired."
	OktaAssertionTooFar      = "The client_assertion token has an expiration too far into the future."
	OktaAssertionNotYetValid = "The client_assertion token has an issued at time in the future."
	OktaAssertionJTIReused   = "The client_assertion token has a jti that was already used."
)

// AssertionMaxLifetime is how far ahead of now Okta accepts an
// assertion's exp; AssertionSkew is the clock difference it forgives on
// iat and nbf (and on exp just past).
const (
	AssertionMaxLifetime = time.Hour
	AssertionSkew        = time.Minute
)

// assertionClaims are the claims an assertion is checked for.
type assertionClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	ID       string           `json:"jti"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	NotBefo  *jwt.NumericDate `json:"nbf"`
	Expiry   *jwt.NumericDate `json:"exp"`
}

// tokenURL is the URL a request came to, as a client names it in aud.
func tokenURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

// authenticateAssertion checks a private_key_jwt request for real: the
// signature against the client's ACTIVE key the header's kid names, iss
// and sub the client ID, aud the token URL, exp not past and at most an
// hour ahead, iat and nbf not in the future, and a jti never seen. It
// returns the client, or the invalid_client description to answer. A
// refusal of the key counts toward the lockout as a wrong secret does.
func (s *Server) authenticateAssertion(tr tokenRequest, aud string) (*Client, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	if until, ok := s.lockedUntil[tr.clientID]; ok && now.Before(until) {
		return nil, "locked"
	}
	c, ok := s.clients[tr.clientID]
	if !ok {
		return nil, "unknown_client"
	}
	desc := s.verifyAssertion(c, tr.assertion, aud, now)
	switch desc {
	case "":
		s.failures[tr.clientID] = 0
		return c, ""
	case OktaAssertionKidInvalid, OktaAssertionSignature:
		s.failures[tr.clientID]++
		if s.opts.LockoutAfter > 0 && s.failures[tr.clientID] >= s.opts.LockoutAfter {
			s.lockedUntil[tr.clientID] = now.Add(s.opts.LockoutFor)
			s.failures[tr.clientID] = 0
		}
	}
	return nil, desc
}

// verifyAssertion is authenticateAssertion's check, under s.mu.
func (s *Server) verifyAssertion(c *Client, assertion, aud string, now time.Time) string {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return OktaAssertionMalformed
	}
	kid := tok.Headers[0].KeyID
	i := slices.IndexFunc(c.Keys, func(k ClientKey) bool {
		return k.Status == KeyActive && kid != "" && (k.ID == kid || k.JWK.KeyID == kid)
	})
	if i < 0 {
		return OktaAssertionKidInvalid
	}
	var cl assertionClaims
	if err := tok.Claims(c.Keys[i].JWK.Key, &cl); err != nil {
		return OktaAssertionSignature
	}
	switch {
	case cl.Issuer != c.ID || cl.Subject != c.ID:
		return OktaAssertionIssuer
	case !cl.Audience.Contains(aud):
		return OktaAssertionAudience
	case cl.Expiry == nil || !now.Before(cl.Expiry.Time().Add(AssertionSkew)):
		return OktaAssertionExpired
	case cl.Expiry.Time().After(now.Add(AssertionMaxLifetime)):
		return OktaAssertionTooFar
	case cl.IssuedAt != nil && cl.IssuedAt.Time().After(now.Add(AssertionSkew)),
		cl.NotBefo != nil && cl.NotBefo.Time().After(now.Add(AssertionSkew)):
		return OktaAssertionNotYetValid
	}
	for id, exp := range s.assertionIDs {
		if now.After(exp) {
			delete(s.assertionIDs, id)
		}
	}
	if cl.ID != "" {
		if _, seen := s.assertionIDs[cl.ID]; seen {
			return OktaAssertionJTIReused
		}
		s.assertionIDs[cl.ID] = cl.Expiry.Time().Add(AssertionSkew)
	}
	return ""
}

// AssertionType is the client_assertion_type of a JWT client assertion.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionIssuer is an assertion's iss, unverified: the client it claims
// to be, when the request names none.
func assertionIssuer(a string) string {
	tok, err := jwt.ParseSigned(a, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return ""
	}
	var cl assertionClaims
	if err := tok.UnsafeClaimsWithoutVerification(&cl); err != nil {
		return ""
	}
	return cl.Issuer
}
