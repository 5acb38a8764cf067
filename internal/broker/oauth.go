package broker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// OAuthSetup is an OAuth credential's provider configuration as a caller
// gives it (the connect flow, a token upload, client credentials).
type OAuthSetup struct {
	Grant            oauth.Grant // authorization_code (connect or pasted tokens) or client_credentials
	TokenURL         string
	AuthorizationURL string
	ClientID         string
	// ClientSecret: empty keeps the secret stored with the credential,
	// but only when TokenURL and ClientID are the ones it was stored
	// with; for any other token URL or client the secret must be given
	// again, so that nobody can have the vault send a stored secret
	// somewhere new.
	ClientSecret   secret.Bytes
	AuthMethod     oauth.AuthMethod // "" means oauth.DefaultAuthMethod
	Scopes         []string
	ScopeSeparator string
	DisablePKCE    bool
	// NewGrant marks tokens from a fresh authorization (the connect
	// flow's code exchange): the connection starts anew, so connected_at
	// moves even when the provider and client are unchanged.
	NewGrant bool
}

// OAuthClient is the client the broker posts token requests with: the
// proxy's network policy applies to token endpoints too.
func (b *Broker) OAuthClient() *oauth.Client { return b.oauth }

// loadOAuth reads and opens an OAuth credential; ok is false when the
// key does not exist. A key of another type is a conflict.
func (b *Broker) loadOAuth(ctx context.Context, st store.Store, vaultID, key string) (oauth.Stored, bool, error) {
	c, err := st.Credentials().Get(ctx, vaultID, key)
	if errors.Is(err, store.ErrNotFound) {
		return oauth.Stored{}, false, nil
	}
	if err != nil {
		return oauth.Stored{}, false, internal(err, "reading a credential")
	}
	if c.Type != model.CredentialOAuth {
		return oauth.Stored{}, true, errs.Conflict("credential %s is a static credential, not an OAuth one: delete it first, or pick another key", key).WithCode("credential_not_oauth")
	}
	val, err := b.kr.Open(c.Ciphertext, credentialAD(vaultID, key))
	if err != nil {
		return oauth.Stored{}, true, errs.Internal(err, "decrypting credential "+key)
	}
	defer val.Wipe()
	s, err := oauth.ParseStored(val.Reveal())
	if err != nil {
		return oauth.Stored{}, true, errs.Internal(err, "reading OAuth credential "+key)
	}
	return s, true, nil
}

// sealOAuth seals s for the credential's row.
func (b *Broker) sealOAuth(vaultID, key string, s oauth.Stored) ([]byte, error) {
	pt, err := s.Marshal()
	if err != nil {
		return nil, errs.Internal(err, "encoding an OAuth credential")
	}
	val := secret.New(pt)
	defer val.Wipe()
	ct, err := b.kr.Seal(val, credentialAD(vaultID, key))
	if err != nil {
		return nil, errs.Internal(err, "encrypting a credential")
	}
	return ct, nil
}

// saveOAuth stores s as the credential (type oauth), written by writtenBy.
func (b *Broker) saveOAuth(ctx context.Context, st store.Store, vaultID, key string, s oauth.Stored, writtenBy string) error {
	ct, err := b.sealOAuth(vaultID, key, s)
	if err != nil {
		return err
	}
	now := b.now()
	return internal(st.Credentials().Put(ctx, model.Credential{VaultID: vaultID, Key: key, Type: model.CredentialOAuth, Ciphertext: ct, CreatedAt: now, UpdatedAt: now, WrittenBy: writtenBy}), "saving a credential")
}

// merge applies a setup to the stored form: the configuration is
// replaced; the stored client secret survives only for the same token URL.
func (set OAuthSetup) merge(old oauth.Stored) oauth.Stored {
	s := old
	if set.Grant == "" {
		set.Grant = oauth.GrantAuthorizationCode
	}
	keepSecret := set.ClientSecret.IsEmpty() && sameClient(old, set)
	s.Grant, s.TokenURL, s.ClientID = set.Grant, set.TokenURL, set.ClientID
	if set.AuthorizationURL != "" {
		s.AuthorizationURL = set.AuthorizationURL
	}
	s.AuthMethod, s.Scopes, s.ScopeSeparator, s.DisablePKCE = set.AuthMethod, set.Scopes, set.ScopeSeparator, set.DisablePKCE
	if s.AuthMethod == "" {
		s.AuthMethod = oauth.DefaultAuthMethod
	}
	if !keepSecret {
		s.ClientSecret = string(set.ClientSecret.Reveal())
	}
	if old.TokenURL != set.TokenURL || old.ClientID != set.ClientID {
		// Another provider or client: nothing of the old grant carries over.
		s.RefreshToken, s.ConnectedAt = "", time.Time{}
	}
	if set.NewGrant {
		s.ConnectedAt = time.Time{}
	}
	return s
}

// sameClient reports whether a setup names the token endpoint and client
// a stored secret was given for: the only case where the stored secret
// may be used with it.
func sameClient(old oauth.Stored, set OAuthSetup) bool {
	return old.TokenURL != "" && old.TokenURL == set.TokenURL && old.ClientID == set.ClientID
}

// checkSetup validates a setup's fields.
func checkSetup(set OAuthSetup) error {
	if err := oauth.CheckTokenURL(set.TokenURL); err != nil {
		return errs.Invalid("token_url", "%s", err.Error())
	}
	if set.AuthorizationURL != "" {
		if err := oauth.CheckTokenURL(set.AuthorizationURL); err != nil {
			return errs.Invalid("authorization_url", "authorization URL: %s", err.Error())
		}
	}
	if set.ClientID == "" || len(set.ClientID) > 512 {
		return errs.Invalid("client_id", "client_id is required (at most 512 bytes)")
	}
	if _, err := oauth.ParseAuthMethod(string(set.AuthMethod)); err != nil {
		return errs.Invalid("token_auth_method", "%s", err.Error())
	}
	if set.ClientSecret.Len() > 4096 {
		return errs.Invalid("client_secret", "client_secret is longer than 4096 bytes")
	}
	if len(set.Scopes) > 100 {
		return errs.Invalid("scopes", "at most 100 scopes")
	}
	return nil
}

// StoreOAuthTokens stores freshly obtained tokens for (vault, key) with
// the setup they were obtained with (member+), creating the credential
// as type oauth or replacing an OAuth credential's tokens and
// configuration in one write. The connect flow's callback calls it after
// its code exchange; the token upload and client credentials routes call
// it after their own token request. The proxy injects the new access
// token from its next request on.
func (b *Broker) StoreOAuthTokens(ctx context.Context, a Actor, vault, key string, set OAuthSetup, t oauth.Tokens) error {
	if err := model.ValidateCredentialKey("key", key); err != nil {
		return err
	}
	if err := checkSetup(set); err != nil {
		return err
	}
	if t.Access.IsEmpty() {
		return errs.Invalid("access_token", "there is no access token to store")
	}
	if t.Access.Len() > maxCredentialValue || t.Refresh.Len() > maxCredentialValue {
		return errs.Invalid("access_token", "a token is longer than %d bytes", maxCredentialValue)
	}
	return b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, vault, policy.WriteCredential)
		if err != nil {
			return err
		}
		old, _, err := b.loadOAuth(ctx, tx, v.ID, key)
		if err != nil {
			return err
		}
		s := set.merge(old)
		s.Apply(t, b.now())
		if err := b.saveOAuth(ctx, tx, v.ID, key, s, a.principal()); err != nil {
			return err
		}
		return b.record(ctx, tx, with(a.event(trail.CredentialSet, v, key), "oauth tokens stored"))
	})
}

// ResolveOAuthSetup checks a setup for (vault, key) (member+) and fills in
// the stored client secret when the setup leaves it out and names the
// token URL and client it was stored with (never otherwise). The connect
// flow keeps the result for its code exchange; it must never reach a
// client.
func (b *Broker) ResolveOAuthSetup(ctx context.Context, a Actor, vault, key string, set OAuthSetup) (OAuthSetup, error) {
	if err := model.ValidateCredentialKey("key", key); err != nil {
		return OAuthSetup{}, err
	}
	if err := checkSetup(set); err != nil {
		return OAuthSetup{}, err
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.WriteCredential)
	if err != nil {
		return OAuthSetup{}, err
	}
	old, _, err := b.loadOAuth(ctx, b.st, v.ID, key)
	if err != nil {
		return OAuthSetup{}, err
	}
	if set.ClientSecret.IsEmpty() && sameClient(old, set) && old.ClientSecret != "" {
		set.ClientSecret = secret.FromString(old.ClientSecret)
	}
	if set.AuthMethod == "" {
		set.AuthMethod = oauth.DefaultAuthMethod
	}
	return set, nil
}

// applyOAuthSlot writes an approved proposal's OAuth slot: the provider
// configuration it names, waiting to be connected. A credential already
// connected to the same token URL and client keeps its tokens.
func (b *Broker) applyOAuthSlot(ctx context.Context, tx store.Store, p model.Proposal, c model.ProposedCredential) (string, error) {
	old, _, err := b.loadOAuth(ctx, tx, p.VaultID, c.Key)
	if err != nil && !errs.Is(err, errs.KindConflict) {
		return "", err
	}
	s := oauth.Stored{Status: oauth.StatusPending, Grant: oauth.GrantAuthorizationCode}
	if c.OAuth != nil {
		s.TokenURL, s.AuthorizationURL, s.ClientID, s.Scopes = c.OAuth.TokenURL, c.OAuth.AuthorizationURL, c.OAuth.ClientID, c.OAuth.Scopes
		s.ScopeSeparator, s.DisablePKCE = c.OAuth.ScopeSeparator, c.OAuth.DisablePKCE
		if s.AuthMethod = oauth.AuthMethod(c.OAuth.TokenAuthMethod); s.AuthMethod == "" {
			s.AuthMethod = oauth.DefaultAuthMethod
		}
		if err == nil && old.Status != oauth.StatusPending && sameClient(old, OAuthSetup{TokenURL: s.TokenURL, ClientID: s.ClientID}) {
			return "kept connected OAuth credential " + c.Key, nil
		}
	}
	if err := b.saveOAuth(ctx, tx, p.VaultID, c.Key, s, "proposal:"+strconv.FormatInt(p.ID, 10)); err != nil {
		return "", err
	}
	return "set OAuth credential " + c.Key + " (connect it next)", nil
}
