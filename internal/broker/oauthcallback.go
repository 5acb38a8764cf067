package broker

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// maxOAuthCode bounds the code a callback carries.
const maxOAuthCode = 4096

// OAuthFlowInfo describes a flow in progress for the callback page, without
// using it up.
type OAuthFlowInfo struct {
	Vault, Key   string
	ProviderHost string // the token URL's host
	UserID       string // who started it
}

// errUnknownState is the answer for a state this server does not hold:
// never issued, used already, or expired and cleared.
var errUnknownState = errs.Gone("this sign-in link is no longer valid: it was used already, has expired, or was not issued by this server. Start the connection again (Connect on the vault's credentials page, or `agent-vault vault credential oauth connect`).").WithCode("oauth_state_invalid")

// validState reports whether s has the form of a state this server issues,
// so that junk is refused before a database read.
func validState(s string) bool { return token.HasPrefix(s, token.PrefixOAuthState) }

// PeekOAuthFlow reads the flow of a state without using it up, for the
// callback page that asks the signed-in user to finish it.
func (b *Broker) PeekOAuthFlow(ctx context.Context, state string) (OAuthFlowInfo, error) {
	if !validState(state) {
		return OAuthFlowInfo{}, errUnknownState
	}
	st, err := b.st.OAuthStates().ByHash(ctx, token.Hash(state))
	if errors.Is(err, store.ErrNotFound) || err == nil && !b.now().Before(st.ExpiresAt) {
		return OAuthFlowInfo{}, errUnknownState
	}
	if err != nil {
		return OAuthFlowInfo{}, internal(err, "reading an OAuth flow")
	}
	v, err := b.vaultByID(ctx, st.VaultID)
	if err != nil {
		return OAuthFlowInfo{}, err
	}
	flow, err := b.openFlow(st)
	if err != nil {
		return OAuthFlowInfo{}, err
	}
	return OAuthFlowInfo{Vault: v.Name, Key: st.Key, ProviderHost: hostOfURL(flow.Config.TokenURL), UserID: st.UserID}, nil
}

// CancelOAuthFlow uses up a state without exchanging anything: the
// provider answered with an error (the user declined, say).
func (b *Broker) CancelOAuthFlow(ctx context.Context, state string) {
	if !validState(state) {
		return
	}
	if _, err := b.st.OAuthStates().Take(ctx, token.Hash(state)); err != nil && !errors.Is(err, store.ErrNotFound) {
		b.log.Warn("oauth: dropping a declined flow failed", "err", err)
	}
}

// CompleteOAuthConnect finishes a flow as the signed-in user a: the state
// is used up whatever happens next; it must be a's own and fresh; the code
// is exchanged with the PKCE verifier and the tokens replace the
// credential's value, together with the configuration of the flow.
func (b *Broker) CompleteOAuthConnect(ctx context.Context, a Actor, state, code string) (apitype.OAuthFlowDone, error) {
	var out apitype.OAuthFlowDone
	if !a.IsUser() {
		return out, errs.Unauthorized("sign in to finish connecting")
	}
	if !validState(state) {
		return out, errUnknownState
	}
	st, err := b.st.OAuthStates().Take(ctx, token.Hash(state))
	if errors.Is(err, store.ErrNotFound) {
		return out, errUnknownState
	}
	if err != nil {
		return out, internal(err, "reading an OAuth flow")
	}
	if !b.now().Before(st.ExpiresAt) {
		return out, errs.Gone("this sign-in link expired (a connection must be finished within %d minutes): start the connection again", int(model.OAuthStateTTL.Minutes())).WithCode("oauth_state_expired")
	}
	if st.UserID != a.User.ID {
		err := errs.Forbidden("this connection was started by another user and can only be finished in their browser session: sign in as that user, or start the connection yourself").WithCode("oauth_state_other_user")
		if v, verr := b.vaultByID(ctx, st.VaultID); verr == nil {
			// Someone finishing another user's flow is worth a row: a
			// planted link, or a mix-up of accounts.
			e := a.event(trail.CredentialSet, v, st.Key)
			e.Detail = "oauth connect finished by another user than the one who started it"
			b.recordFailure(ctx, e, err)
		}
		return out, err
	}
	if code == "" || len(code) > maxOAuthCode || hasControl(code) {
		return out, errs.Invalid("code", "the provider sent no usable authorization code back: start the connection again")
	}
	v, err := b.vaultByID(ctx, st.VaultID)
	if err != nil {
		return out, err
	}
	out.Vault, out.Key = v.Name, st.Key
	// The user may have lost the right to write credentials meanwhile.
	role, err := b.roleIn(ctx, b.st, a, v.ID)
	if err != nil {
		return out, err
	}
	if err := authorize(a, role, policy.WriteCredential); err != nil {
		return out, err
	}
	flow, err := b.openFlow(st)
	if err != nil {
		return out, err
	}
	req := oauth.Request{Config: flow.Config.Config(), Grant: oauth.GrantAuthorizationCode, Code: secret.FromString(code), RedirectURI: flow.RedirectURI}
	if flow.Verifier != "" {
		req.CodeVerifier = secret.FromString(flow.Verifier)
	}
	toks, err := b.OAuthClient().Token(ctx, req)
	if err != nil {
		return out, oauthExchangeError(err)
	}
	c := flow.Config
	set := OAuthSetup{Grant: oauth.GrantAuthorizationCode, TokenURL: c.TokenURL, AuthorizationURL: c.AuthorizationURL, ClientID: c.ClientID,
		ClientSecret: secret.FromString(c.ClientSecret), AuthMethod: c.AuthMethod, Scopes: c.Scopes, ScopeSeparator: c.ScopeSeparator, DisablePKCE: c.DisablePKCE, NewGrant: true}
	return out, b.StoreOAuthTokens(ctx, a, v.Name, st.Key, set, toks)
}

// openFlow opens a state row's sealed parameters.
func (b *Broker) openFlow(st model.OAuthState) (oauthFlow, error) {
	val, err := b.kr.Open(st.Sealed, oauthStateAD(st))
	if err != nil {
		return oauthFlow{}, errs.Internal(err, "decrypting an OAuth flow")
	}
	defer val.Wipe()
	var f oauthFlow
	if err := json.Unmarshal(val.Reveal(), &f); err != nil {
		return oauthFlow{}, errs.Internal(err, "reading an OAuth flow")
	}
	return f, nil
}

// oauthExchangeError turns a failed code exchange into a safe message: the
// token client's errors carry the provider's error code and description,
// cleaned of anything that was sent.
func oauthExchangeError(err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		msg := "the provider refused the authorization code: " + oe.Error()
		if h := oe.Hint(); h != "" {
			msg += ". " + h
		}
		return &errs.Error{Kind: errs.KindInvalid, Code: "oauth_exchange_failed", Message: msg}
	}
	return errs.Internal(err, "exchanging an OAuth code")
}

// vaultByID finds the vault a flow was started in.
func (b *Broker) vaultByID(ctx context.Context, id string) (model.Vault, error) {
	vs, err := b.st.Vaults().List(ctx)
	if err != nil {
		return model.Vault{}, internal(err, "listing vaults")
	}
	for _, v := range vs {
		if v.ID == id {
			return v, nil
		}
	}
	return model.Vault{}, errs.NotFound("the vault this connection was started in no longer exists")
}

func hostOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
