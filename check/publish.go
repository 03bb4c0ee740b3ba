package check

import (
	"context"
	"fmt"
	"time"

	"github.com/credkeeper/credkeeper/oauthcheck"
	"github.com/credkeeper/credkeeper/vaultstore"
)

// PublishToken writes the token a successful check obtained to tokens/NAME,
// with check-and-set against cur (nil when none is published), and returns
// the record written, without its token. A token whose response gave no
// lifetime is published with maxTokenTTL, and refused when that is zero.
func PublishToken(ctx context.Context, store *vaultstore.Store, res oauthcheck.Result, cur *vaultstore.Token, maxTokenTTL time.Duration) (*vaultstore.Token, error) {
	if res.Class != oauthcheck.ClassOK || res.AccessToken.IsZero() {
		return nil, fmt.Errorf("no token to publish: the check ended %s", res.Class)
	}
	expires := res.ExpiresAt
	if res.NoExpiry {
		if maxTokenTTL == 0 {
			return nil, fmt.Errorf("the provider gave no lifetime for the token: set max_token_ttl in provider %q to publish it", res.Provider)
		}
		expires = res.CheckedAt.Add(maxTokenTTL)
	}
	tok := &vaultstore.Token{AccessToken: res.AccessToken, TokenType: res.TokenType, IssuedAt: res.CheckedAt,
		ExpiresAt: expires, Scope: res.Scope, CredentialVersion: res.CredentialVersion}
	cas := 0
	if cur != nil {
		cas = cur.Version
	}
	v, err := store.PutToken(ctx, res.Name, tok, cas)
	if err != nil {
		return nil, err
	}
	tok.Version = v
	tok.AccessToken = tok.AccessToken.Redacted()
	return tok, nil
}
