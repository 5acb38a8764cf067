package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/token"
)

// The authorization-code flow (docs/oauth.md): a member starts it for an
// OAuth credential (StartOAuthConnect), opens the provider's page in their
// browser, consents, and the provider sends the browser back to
// /v1/oauth/callback with a code and the state; the web page calls
// CompleteOAuthConnect as the signed-in user, which takes the state
// (single use), checks it is theirs and fresh, exchanges the code with the
// PKCE verifier at the token URL (through netguard) and stores the tokens.

// OAuthCallbackPath is the path of the redirect URI, on the base URL.
const OAuthCallbackPath = "/v1/oauth/callback"

// oauthFlow is what a state row seals: the PKCE verifier, the redirect URI
// sent with the authorization request (the exchange must repeat it) and
// the provider configuration the tokens will be stored with.
type oauthFlow struct {
	Verifier    string       `json:"verifier,omitempty"`
	RedirectURI string       `json:"redirect_uri"`
	Config      oauth.Stored `json:"config"`
}

// oauthStateAD binds a flow's sealed parameters to its row: the id, the
// user who started it and the credential it fills, so that parameters
// moved into another row do not open.
func oauthStateAD(st model.OAuthState) []byte {
	return keyring.AD("oauth-state", st.ID, st.UserID, st.VaultID, st.Key)
}

// RedirectURI is the OAuth redirect URI of this instance: the callback
// path on the configured public base URL (--address, AGENT_VAULT_ADDR).
// Register it with the provider.
func (b *Broker) RedirectURI() string { return strings.TrimRight(b.baseURL, "/") + OAuthCallbackPath }

// StartOAuthConnect starts the authorization-code flow for an OAuth
// credential and returns the provider URL to open (member+, a person: the
// flow is bound to the user who starts it and completes in their browser).
func (b *Broker) StartOAuthConnect(ctx context.Context, a Actor, in apitype.OAuthConnectRequest) (apitype.OAuthConnectStarted, error) {
	var out apitype.OAuthConnectStarted
	if in.Vault == "" {
		in.Vault = model.DefaultVault
	}
	if err := model.ValidateCredentialKey("key", in.Key); err != nil {
		return out, err
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, in.Vault, policy.WriteCredential)
	if err != nil {
		return out, err
	}
	if !a.IsUser() {
		return out, errs.Forbidden("connecting an OAuth credential needs a person signed in (the provider asks them to consent in their browser): run `agent-vault vault credential oauth connect` or use the web console")
	}
	cur, exists, err := b.loadOAuth(ctx, b.st, v.ID, in.Key)
	if err != nil {
		return out, err
	}
	if exists {
		in = withStoredProvider(in, cur)
	}
	c, err := checkConnect(in)
	if err != nil {
		return out, err
	}
	cfg := oauth.Stored{Grant: oauth.GrantAuthorizationCode, TokenURL: c.tokenURL, AuthorizationURL: c.authURL, ClientID: c.clientID,
		AuthMethod: c.authMethod, Scopes: c.scopes, ScopeSeparator: c.separator, DisablePKCE: c.disablePKCE}
	switch {
	case c.secretGiven:
		cfg.ClientSecret = c.secret
	case c.keep && exists && cur.ClientSecret != "":
		// A stored secret goes only to the token URL and client it was
		// stored with (the rule of ResolveOAuthSetup).
		if !sameClient(cur, OAuthSetup{TokenURL: c.tokenURL, ClientID: c.clientID}) {
			return out, errs.Invalid("client_secret", "the stored client secret was saved for another token URL or client id (%s, %s) and is never sent elsewhere: type the client secret again", cur.TokenURL, cur.ClientID)
		}
		cfg.ClientSecret = cur.ClientSecret
	}
	if cfg.ClientSecret == "" && c.authMethod != oauth.AuthNone {
		return out, errs.Invalid("client_secret", "client_secret is required with token_auth_method %s; a public client without a secret uses token_auth_method none", c.authMethod)
	}
	if err := b.vetOAuthHosts(ctx, c); err != nil {
		return out, err
	}
	now := b.now()
	if _, err := b.st.OAuthStates().DeleteExpired(ctx, now); err != nil {
		return out, internal(err, "clearing expired OAuth flows")
	}
	if n, err := b.st.OAuthStates().CountByUser(ctx, a.User.ID, now); err != nil {
		return out, internal(err, "counting OAuth flows")
	} else if n >= model.MaxOAuthStatesPerUser {
		return out, &errs.Error{Kind: errs.KindRateLimited, Code: "too_many_oauth_flows",
			Message: fmt.Sprintf("you have %d OAuth connections in progress: finish one, or wait %d minutes for them to expire", n, int(model.OAuthStateTTL.Minutes()))}
	}
	flow := oauthFlow{RedirectURI: b.RedirectURI(), Config: cfg}
	challenge := ""
	if !c.disablePKCE {
		flow.Verifier = oauth.NewVerifier()
		challenge = oauth.ChallengeS256(flow.Verifier)
	}
	state := token.New(token.PrefixOAuthState)
	st := model.OAuthState{ID: token.ID(12), StateHash: token.Hash(state), UserID: a.User.ID, VaultID: v.ID, Key: c.key, CreatedAt: now, ExpiresAt: now.Add(model.OAuthStateTTL)}
	plain, err := json.Marshal(flow)
	if err != nil {
		return out, errs.Internal(err, "encoding an OAuth flow")
	}
	val := secret.New(plain)
	st.Sealed, err = b.kr.Seal(val, oauthStateAD(st))
	val.Wipe()
	if err != nil {
		return out, errs.Internal(err, "encrypting an OAuth flow")
	}
	link, err := oauth.AuthorizationURL(oauth.AuthorizationRequest{Endpoint: c.authURL, ClientID: c.clientID, RedirectURI: flow.RedirectURI,
		State: state, Scopes: c.scopes, ScopeSeparator: c.separator, Challenge: challenge})
	if err != nil {
		return out, errs.Invalid("authorization_url", "%v", err)
	}
	if err := b.st.OAuthStates().Create(ctx, st); err != nil {
		return out, internal(err, "saving an OAuth flow")
	}
	out.AuthorizationURL = link
	return out, nil
}

// withStoredProvider fills the provider settings a connect request leaves
// out with those stored with the credential (an approved proposal's
// slot, or the last connection), so that `oauth connect KEY` is enough to
// connect again. What the request gives wins.
func withStoredProvider(in apitype.OAuthConnectRequest, cur oauth.Stored) apitype.OAuthConnectRequest {
	if in.AuthorizationURL == "" {
		in.AuthorizationURL = cur.AuthorizationURL
	}
	if in.TokenURL == "" {
		in.TokenURL = cur.TokenURL
	}
	if in.ClientID == "" {
		in.ClientID = cur.ClientID
	}
	if in.Scopes.IsZero() && len(cur.Scopes) > 0 {
		in.Scopes = apitype.ScopeList{List: cur.Scopes}
		if in.ScopeSeparator == "" {
			in.ScopeSeparator = cur.ScopeSeparator
		}
	}
	if in.TokenAuthMethod == "" {
		in.TokenAuthMethod = string(cur.AuthMethod)
	}
	// PKCE stays off for the provider that refused it, and only for it:
	// another authorization URL, or a public client (which must use
	// PKCE), starts with it on again.
	if in.DisablePKCE == nil && cur.DisablePKCE && in.AuthorizationURL == cur.AuthorizationURL && in.TokenAuthMethod != string(oauth.AuthNone) {
		off := true
		in.DisablePKCE = &off
	}
	return in
}

// vetOAuthHosts resolves the provider's hosts through netguard, so that a
// request naming a private, loopback or metadata address is refused when
// the flow starts, not only when the token URL is dialled. A host that
// does not resolve now is let through: the dial of the token URL vets its
// addresses again, whatever DNS answers then.
func (b *Broker) vetOAuthHosts(ctx context.Context, c connectInput) error {
	d := b.OAuthClient().Dialer
	if d == nil {
		d = &netguard.Dialer{}
	}
	for _, h := range []struct{ field, host string }{{"authorization_url", c.authHost}, {"token_url", c.tokenHost}} {
		var be *netguard.BlockedError
		if _, err := d.Resolve(ctx, h.host); errors.As(err, &be) {
			return errs.Invalid(h.field, "%s points at %s, an address the vault never contacts (%s); an operator can allow it with AGENT_VAULT_NETWORK_ALLOWLIST (docs/proxy.md)", h.field, h.host, be.Class)
		}
	}
	return nil
}
