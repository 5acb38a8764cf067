package broker

import (
	"context"
	"errors"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// OAuthUnchanged is the mask the public API's console sends in place of
// a token or client secret it leaves unchanged: it keeps the stored one
// (a client secret or refresh token only with the token URL and client
// id it was stored with).
const OAuthUnchanged = "••••••••"

// UploadOAuthTokens serves POST /v1/credentials/oauth/tokens (member+):
//
//   - with a refresh token, the vault refreshes at once and stores what
//     the provider answered, refusing the upload when that fails;
//   - with an access token only, it stores the token as given (renewed
//     later only if the credential keeps a refresh token);
//   - with grant_type "client_credentials", it fetches a token for the
//     client now and renews it by itself from then on.
//
// Fields left out are taken from the stored credential, but a stored
// client secret is reused only for the token URL and client it was given
// with.
func (b *Broker) UploadOAuthTokens(ctx context.Context, a Actor, in apitype.OAuthTokensRequest) (apitype.OAuthConnected, error) {
	var out apitype.OAuthConnected
	if in.Vault == "" {
		in.Vault = model.DefaultVault
	}
	if err := model.ValidateCredentialKey("key", in.Key); err != nil {
		return out, err
	}
	// The public API's web console sends a mask for "unchanged".
	keepAccess, keepRefresh := in.AccessToken == OAuthUnchanged, in.RefreshToken == OAuthUnchanged
	if keepAccess {
		in.AccessToken = ""
	}
	if keepRefresh {
		in.RefreshToken = ""
	}
	if in.ClientSecret == OAuthUnchanged {
		in.ClientSecret = ""
	}
	var grant oauth.Grant
	switch in.GrantType {
	case "", string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken):
		grant = oauth.GrantAuthorizationCode
		if in.AccessToken == "" && in.RefreshToken == "" && !keepAccess {
			return out, errs.Invalid("access_token", "give access_token or refresh_token (or grant_type \"client_credentials\" with the client's token_url, client_id and client_secret)")
		}
	case string(oauth.GrantClientCredentials):
		grant = oauth.GrantClientCredentials
		if in.AccessToken != "" || in.RefreshToken != "" {
			return out, errs.Invalid("grant_type", "with grant_type \"client_credentials\" the vault fetches the tokens itself: leave access_token and refresh_token out")
		}
	default:
		return out, errs.Invalid("grant_type", "grant_type must be \"client_credentials\" or left out, not %q", in.GrantType)
	}
	if len(in.AccessToken) > maxCredentialValue || len(in.RefreshToken) > maxCredentialValue {
		return out, errs.Invalid("access_token", "a token is longer than %d bytes", maxCredentialValue)
	}
	v, role, err := b.vaultAuthorized(ctx, b.st, a, in.Vault, policy.WriteCredential)
	if err != nil {
		return out, err
	}
	var hosts []service.Pattern
	if len(in.AllowedHosts) > 0 {
		if err := authorize(a, role, policy.BindCredential); err != nil {
			return out, err
		}
		if hosts, err = parseBindHosts("allowed_hosts", in.AllowedHosts); err != nil {
			return out, err
		}
	}
	old, _, err := b.loadOAuth(ctx, b.st, v.ID, in.Key)
	if err != nil {
		return out, err
	}
	set := OAuthSetup{Grant: grant, TokenURL: pick(in.TokenURL, old.TokenURL), ClientID: pick(in.ClientID, old.ClientID),
		ClientSecret: secretOrEmpty(in.ClientSecret), AuthMethod: oauth.AuthMethod(pick(in.TokenAuthMethod, string(old.AuthMethod))),
		Scopes: in.Scopes, AuthorizationURL: old.AuthorizationURL, ScopeSeparator: old.ScopeSeparator, DisablePKCE: old.DisablePKCE}
	if len(set.Scopes) == 0 {
		set.Scopes = old.Scopes
	}
	s := set.merge(old)
	renew := grant == oauth.GrantClientCredentials || in.RefreshToken != ""
	if renew || set.TokenURL != "" {
		if err := checkSetup(set); err != nil {
			return out, err
		}
	}
	now := b.now()
	var t oauth.Tokens
	if renew {
		req := oauth.Request{Config: s.Config(), Grant: oauth.GrantClientCredentials}
		if grant != oauth.GrantClientCredentials {
			req.Grant, req.RefreshToken = oauth.GrantRefreshToken, secret.FromString(in.RefreshToken)
		}
		if req.AuthMethod != oauth.AuthNone && req.ClientSecret.IsEmpty() {
			return out, errs.Invalid("client_secret", "client_secret is required for token_auth_method %s: give it (a stored secret is reused only with the token URL and client id it was given with)", s.AuthMethod)
		}
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), oauthRenewTimeout)
		t, err = b.oauth.Token(tctx, req)
		cancel()
		b.countRenewal(req.Grant, RenewalUpload, err == nil)
		if err != nil {
			msg, hint := err.Error(), ""
			var oe *oauth.Error
			if errors.As(err, &oe) {
				hint = oe.Hint()
			}
			what := "refreshing with the given refresh token failed, so nothing was stored"
			if grant == oauth.GrantClientCredentials {
				what = "fetching a token with the client credentials failed, so nothing was stored"
			}
			return out, errs.Invalid("refresh_token", "%s: %s; %s", what, msg, hint).WithCode("oauth_token_request_failed")
		}
		if t.Refresh.IsEmpty() && in.RefreshToken != "" {
			t.Refresh = secret.FromString(in.RefreshToken) // not rotated: the given one stays valid
		}
	} else if keepAccess {
		if old.AccessToken == "" || !sameClient(old, set) && set.TokenURL != "" {
			return out, errs.Invalid("access_token", "there is no stored access token to keep: give access_token or refresh_token")
		}
		t = oauth.Tokens{Access: secret.FromString(old.AccessToken), TokenType: old.TokenType, Scope: old.Scope, ExpiresAt: old.ExpiresAt}
	} else {
		t = oauth.Tokens{Access: secret.FromString(in.AccessToken), Refresh: secretOrEmpty(in.RefreshToken)}
	}
	err = b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, in.Vault, policy.WriteCredential)
		if err != nil {
			return err
		}
		cur, _, err := b.loadOAuth(ctx, tx, v.ID, in.Key)
		if err != nil {
			return err
		}
		s := set.merge(cur)
		if !renew && in.RefreshToken == "" && !sameClient(cur, set) {
			s.RefreshToken = ""
		}
		s.Apply(t, now)
		if err := b.saveOAuth(ctx, tx, v.ID, in.Key, s, a.principal()); err != nil {
			return err
		}
		for _, p := range hosts {
			if err := tx.Credentials().Bind(ctx, model.CredentialBinding{VaultID: v.ID, Key: in.Key, Pattern: p.String(), AddedBy: a.principal(), CreatedAt: now}); err != nil {
				return internal(err, "binding a credential")
			}
		}
		out = apitype.OAuthConnected{Connected: true, ConnectedAt: s.ConnectedAt.Format(time.RFC3339), Vault: v.Name, Key: in.Key, Status: string(s.Status), ExpiresAt: timePtr(s.ExpiresAt)}
		return b.record(ctx, tx, with(a.event(trail.CredentialSet, v, in.Key), "oauth tokens stored ("+string(grant)+")"))
	})
	return out, err
}

// OAuthStatus serves GET /v1/credentials/oauth/status (member+): the
// credential's state and configuration, never a token or the secret.
func (b *Broker) OAuthStatus(ctx context.Context, a Actor, vault, key string) (apitype.OAuthStatus, error) {
	out := apitype.OAuthStatus{Vault: vault, Key: key}
	if err := model.ValidateCredentialKey("key", key); err != nil {
		return out, err
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.WriteCredential)
	if err != nil {
		return out, err
	}
	s, ok, err := b.loadOAuth(ctx, b.st, v.ID, key)
	if err != nil {
		return out, err
	}
	if !ok {
		return out, errs.NotFound("OAuth credential %s not found in vault %q: connect it or upload tokens with `agent-vault vault credential oauth tokens`", key, v.Name)
	}
	out.Vault = v.Name
	out.Status, out.GrantType, out.TokenURL, out.ClientID = string(s.Status), string(s.Grant), s.TokenURL, s.ClientID
	out.TokenAuthMethod, out.Scopes = string(s.AuthMethod), s.Scopes
	out.Connected = s.Status == oauth.StatusConnected
	if !s.ConnectedAt.IsZero() && out.Connected {
		t := s.ConnectedAt.Format(time.RFC3339)
		out.ConnectedAt = &t
	}
	if s.LastError != "" {
		e := s.LastError
		out.LastError = &e
	}
	out.ExpiresAt, out.RefreshedAt = timePtr(s.ExpiresAt), timePtr(s.RefreshedAt)
	out.HasRefreshToken, out.HasClientSecret = s.RefreshToken != "", s.ClientSecret != ""
	return out, nil
}

// oauthListState is an OAuth credential's state for credential lists.
func (b *Broker) oauthListState(vaultID string, c model.Credential) *apitype.CredentialOAuthState {
	val, err := b.kr.Open(c.Ciphertext, credentialAD(vaultID, c.Key))
	if err != nil {
		return &apitype.CredentialOAuthState{Status: "unreadable"}
	}
	defer val.Wipe()
	s, err := oauth.ParseStored(val.Reveal())
	if err != nil {
		return &apitype.CredentialOAuthState{Status: "unreadable"}
	}
	return &apitype.CredentialOAuthState{Status: string(s.Status), ExpiresAt: timePtr(s.ExpiresAt), LastError: s.LastError, GrantType: string(s.Grant)}
}

func pick(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func secretOrEmpty(s string) secret.Bytes {
	if s == "" {
		return secret.Bytes{}
	}
	return secret.FromString(s)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
