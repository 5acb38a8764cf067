package server_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/server"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

const cbURL = "https://vault.test/v1/oauth/callback"

// newOAuthEnv is newEnv whose broker may reach token endpoints on
// 127.0.0.1 that present a certificate of one of the providers.
func newOAuthEnv(t *testing.T, providers ...*oauthtest.Server) *env {
	t.Helper()
	ctx := context.Background()
	db := sqltest.Open(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for _, p := range providers {
		pool.AppendCertsFromPEM(p.CAPEM())
	}
	oc := &oauth.Client{Dialer: &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}, RootCAs: pool}
	clk := &clock{t: time.Now().UTC()}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: fastPW, BaseURL: "http://vault.test", Logger: log, Now: clk.Now, Version: "test", OAuth: oc})
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Options{Broker: b, Logger: log}))
	t.Cleanup(func() { ts.Close(); _ = db.Close() })
	return &env{t: t, url: ts.URL, db: db, clock: clk, logs: logs, b: b}
}

// rawJSON sends a request and returns the status and the body.
func rawJSON(t *testing.T, e *env, method, path, tok string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func agentToken(t *testing.T, owner *client.Client, name, role string) string {
	t.Helper()
	ag, err := owner.CreateAgent(context.Background(), apitype.CreateAgentRequest{Name: name, Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: role}}})
	if err != nil {
		t.Fatalf("agent %s: %v", name, err)
	}
	return ag.Token
}

// The routes speak the public API's fields; tokens and the client secret
// appear in no answer: not the upload's, the status, the list, nor a
// reveal.
func TestOAuthRoutesWireFormatAndNoTokenInAnswers(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{RotateRefresh: true})
	p.AddClient(oauthtest.Client{ID: "app", Secret: "app-secret-value", AuthMethod: "client_secret_post", RedirectURI: cbURL})
	e := newOAuthEnv(t, p)
	reg, err := e.anon().Register(context.Background(), apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		t.Fatal(err)
	}
	tok := reg.Token
	pasted := p.Authorize(t, "app", "read")
	code, body := rawJSON(t, e, "POST", "/v1/credentials/oauth/tokens", tok, map[string]any{
		"vault": "default", "key": "GH_TOKEN", "access_token": pasted.Access, "refresh_token": pasted.Refresh,
		"token_url": p.TokenURL, "client_id": "app", "client_secret": "app-secret-value", "token_auth_method": "client_secret_post"})
	var up map[string]any
	_ = json.Unmarshal([]byte(body), &up)
	if code != 200 || up["connected"] != true || up["connected_at"] == nil {
		t.Fatalf("upload: %d %s", code, body)
	}
	code, st := rawJSON(t, e, "GET", "/v1/credentials/oauth/status?vault=default&key=GH_TOKEN", tok, nil)
	var sm map[string]any
	_ = json.Unmarshal([]byte(st), &sm)
	if code != 200 || sm["connected"] != true || sm["connected_at"] == nil || sm["status"] != "connected" || sm["token_url"] != p.TokenURL {
		t.Fatalf("status: %d %s", code, st)
	}
	_, list := rawJSON(t, e, "GET", "/v1/credentials?vault=default", tok, nil)
	_, reveal := rawJSON(t, e, "GET", "/v1/credentials?vault=default&reveal=true", tok, nil)
	if !strings.Contains(list, `"type":"oauth"`) || !strings.Contains(list, `"status":"connected"`) {
		t.Fatalf("list: %s", list)
	}
	for what, s := range map[string]string{"upload": body, "status": st, "list": list, "reveal": reveal} {
		for _, v := range []string{pasted.Access, pasted.Refresh, "app-secret-value", p.LastAPIToken()} {
			if v != "" && strings.Contains(s, v) {
				t.Fatalf("the %s answer holds a token or the secret: %s", what, s)
			}
		}
	}
	if strings.Contains(reveal, `"value"`) {
		t.Fatalf("reveal returned a value for an OAuth credential: %s", reveal)
	}
	if logs := e.logs.String(); strings.Contains(logs, pasted.Refresh) || strings.Contains(logs, "app-secret-value") {
		t.Fatalf("a secret reached the log")
	}
	// The admin trail records the upload, without a token or the secret.
	_, trail := rawJSON(t, e, "GET", "/v1/admin/audit", tok, nil)
	if !strings.Contains(trail, "GH_TOKEN") || !strings.Contains(trail, "oauth tokens stored") {
		t.Fatalf("trail: %s", trail)
	}
	for _, v := range []string{pasted.Access, pasted.Refresh, "app-secret-value", p.LastAPIToken()} {
		if v != "" && strings.Contains(trail, v) {
			t.Fatalf("the admin trail holds a token or the secret")
		}
	}
}

// What an agent may try against a connected credential, and what it
// gets: never the tokens or secret, and never the stored secret sent to
// a token endpoint of its choosing.
func TestOAuthAttackerAgentCannotReadOrExfiltrate(t *testing.T) {
	legit := oauthtest.Start(t, oauthtest.Options{})
	evil := oauthtest.Start(t, oauthtest.Options{})
	const sec = "legit-client-secret"
	legit.AddClient(oauthtest.Client{ID: "app", Secret: sec, AuthMethod: "client_secret_post", RedirectURI: cbURL})
	legit.AddClient(oauthtest.Client{ID: "other", Secret: "other-secret", AuthMethod: "client_secret_post", RedirectURI: cbURL})
	evil.AddClient(oauthtest.Client{ID: "app", Secret: "", AuthMethod: "none", RedirectURI: cbURL})
	evil.AddClient(oauthtest.Client{ID: "app-post", Secret: "x", AuthMethod: "client_secret_post", RedirectURI: cbURL})
	e := newOAuthEnv(t, legit, evil)
	owner := e.owner()
	ctx := context.Background()
	pasted := legit.Authorize(t, "app", "")
	if _, err := owner.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "API", RefreshToken: pasted.Refresh, TokenURL: legit.TokenURL, ClientID: "app", ClientSecret: sec}); err != nil {
		t.Fatal(err)
	}
	evilPaste := evil.Authorize(t, "app", "")
	proxyAgent := agentToken(t, owner, "reader", "proxy")
	member := agentToken(t, owner, "writer", "member")
	hitsBefore := legit.TokenHits()
	evilBefore := int64(0)

	cases := []struct {
		name     string
		tok      string
		method   string
		path     string
		body     any
		status   int
		evilSees bool // whether the evil endpoint may be called at all (never with the secret)
	}{
		{"proxy agent reads status", proxyAgent, "GET", "/v1/credentials/oauth/status?vault=default&key=API", nil, 403, false},
		{"proxy agent uploads", proxyAgent, "POST", "/v1/credentials/oauth/tokens", map[string]any{"key": "API", "access_token": "x"}, 403, false},
		{"proxy agent lists", proxyAgent, "GET", "/v1/credentials?vault=default", nil, 200, false},
		{"proxy agent reveals", proxyAgent, "GET", "/v1/credentials?vault=default&reveal=true", nil, 403, false},
		{"member agent points token_url elsewhere, secret left out", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "refresh_token": evilPaste.Refresh, "token_url": evil.TokenURL, "client_id": "app-post"}, 400, false},
		{"member agent points token_url elsewhere, same client id, secret left out", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "refresh_token": evilPaste.Refresh, "token_url": evil.TokenURL}, 400, false},
		{"member agent points token_url elsewhere, same client id, secret masked", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "refresh_token": evilPaste.Refresh, "token_url": evil.TokenURL, "client_id": "app", "client_secret": "••••••••"}, 400, false},
		{"member agent points token_url elsewhere as a public client", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "refresh_token": evilPaste.Refresh, "token_url": evil.TokenURL, "token_auth_method": "none"}, 200, true},
		{"member agent binds the credential to its own host", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "access_token": "agent-token", "allowed_hosts": []string{"evil.example"}}, 403, false},
		{"member agent switches client at the same token_url", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "grant_type": "client_credentials", "client_id": "other"}, 400, false},
		{"member agent asks client credentials elsewhere", member, "POST", "/v1/credentials/oauth/tokens",
			map[string]any{"key": "API", "grant_type": "client_credentials", "token_url": evil.TokenURL, "client_id": "app-post"}, 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := rawJSON(t, e, c.method, c.path, c.tok, c.body)
			if code != c.status {
				t.Fatalf("got %d %s, want %d", code, body, c.status)
			}
			for _, v := range []string{sec, pasted.Refresh, legit.LastAPIToken()} {
				if v != "" && strings.Contains(body, v) {
					t.Fatalf("answer holds a secret: %s", body)
				}
			}
			if evil.SecretSeen(sec) != 0 {
				t.Fatalf("the stored client secret reached the attacker's token endpoint")
			}
			if !c.evilSees && evil.Hits("refresh_token")+evil.Hits("client_credentials") != evilBefore {
				t.Fatalf("a request refused before any token request reached the attacker's endpoint")
			}
			evilBefore = evil.Hits("refresh_token") + evil.Hits("client_credentials")
		})
	}
	if legit.SecretSeen("other-secret") != 0 || legit.TokenHits() != hitsBefore {
		t.Fatalf("the switched client got a token request (%d hits)", legit.TokenHits()-hitsBefore)
	}
	// After the public-client rewrite, nothing of the legitimate grant is
	// left to send anywhere: no secret, and the old refresh token is gone.
	st, err := owner.OAuthStatus(ctx, "default", "API")
	if err != nil {
		t.Fatal(err)
	}
	if st.TokenURL != evil.TokenURL || st.HasClientSecret {
		t.Fatalf("status after the rewrite: %+v", st)
	}
	// Control: the owner re-supplying nothing but the same token URL and
	// client gets the stored secret used again (the rule is about where
	// it goes, not a blanket refusal).
	if _, err := owner.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "API2", RefreshToken: legit.Authorize(t, "app", "").Refresh, TokenURL: legit.TokenURL, ClientID: "app", ClientSecret: sec}); err != nil {
		t.Fatal(err)
	}
	again := legit.Authorize(t, "app", "")
	seen := legit.SecretSeen(sec)
	if _, err := owner.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "API2", RefreshToken: again.Refresh}); err != nil {
		t.Fatalf("re-upload reusing the stored secret: %v", err)
	}
	if legit.SecretSeen(sec) != seen+1 {
		t.Fatalf("the stored secret was not reused with its own token URL")
	}
}

// Token URLs go through netguard: with the default policy a token
// endpoint on a private address is never dialled.
func TestOAuthTokenURLGoesThroughNetguard(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	p.AddClient(oauthtest.Client{ID: "m2m", Secret: "s", AuthMethod: "client_secret_post"})
	e := newEnv(t) // the default OAuth client: every private range refused
	owner := e.owner()
	_, err := owner.UploadOAuthTokens(context.Background(), apitype.OAuthTokensRequest{Vault: "default", Key: "M2M", GrantType: "client_credentials", TokenURL: p.TokenURL, ClientID: "m2m", ClientSecret: "s"})
	ae, ok := err.(*client.APIError)
	if !ok || ae.Status != 400 || ae.Body.Code != "oauth_token_request_failed" || !strings.Contains(ae.Body.Error+ae.Body.Message, "blocked") {
		t.Fatalf("got %v (%+v), want 400 oauth_token_request_failed naming the block", err, ae)
	}
	if p.TokenHits() != 0 {
		t.Fatalf("the private token endpoint was reached")
	}
	if _, err := owner.OAuthStatus(context.Background(), "default", "M2M"); status(err) != 404 {
		t.Fatalf("a refused upload stored something: %v", err)
	}
}

// Bad uploads are refused naming the field, and store nothing.
func TestOAuthTokensValidation(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	p.AddClient(oauthtest.Client{ID: "app", Secret: "s", AuthMethod: "client_secret_post", RedirectURI: cbURL})
	e := newOAuthEnv(t, p)
	owner := e.owner()
	ctx := context.Background()
	if _, err := owner.SetCredentials(ctx, "default", map[string]string{"STATIC": "v"}); err != nil {
		t.Fatal(err)
	}
	revoked := p.Authorize(t, "app", "")
	p.RevokeRefresh(revoked.Refresh)
	cases := []struct {
		name  string
		in    apitype.OAuthTokensRequest
		code  int
		field string
	}{
		{"no tokens", apitype.OAuthTokensRequest{Key: "K"}, 400, "access_token"},
		{"bad key", apitype.OAuthTokensRequest{Key: "bad key", AccessToken: "a"}, 400, "key"},
		{"plain http token url", apitype.OAuthTokensRequest{Key: "K", RefreshToken: "r", TokenURL: "http://127.0.0.1/token", ClientID: "app", ClientSecret: "s"}, 400, "token_url"},
		{"userinfo in token url", apitype.OAuthTokensRequest{Key: "K", RefreshToken: "r", TokenURL: "https://u:p@127.0.0.1/token", ClientID: "app", ClientSecret: "s"}, 400, "token_url"},
		{"unknown auth method", apitype.OAuthTokensRequest{Key: "K", RefreshToken: "r", TokenURL: p.TokenURL, ClientID: "app", ClientSecret: "s", TokenAuthMethod: "private_key_jwt"}, 400, "token_auth_method"},
		{"unknown grant", apitype.OAuthTokensRequest{Key: "K", GrantType: "password", TokenURL: p.TokenURL, ClientID: "app"}, 400, "grant_type"},
		{"client credentials with tokens", apitype.OAuthTokensRequest{Key: "K", GrantType: "client_credentials", AccessToken: "a", TokenURL: p.TokenURL, ClientID: "app", ClientSecret: "s"}, 400, "grant_type"},
		{"refresh token without client id", apitype.OAuthTokensRequest{Key: "K", RefreshToken: "r", TokenURL: p.TokenURL}, 400, "client_id"},
		{"refresh refused by the provider", apitype.OAuthTokensRequest{Key: "K", RefreshToken: revoked.Refresh, TokenURL: p.TokenURL, ClientID: "app", ClientSecret: "s"}, 400, "refresh_token"},
		{"static key", apitype.OAuthTokensRequest{Key: "STATIC", AccessToken: "a"}, 409, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.Vault = "default"
			_, err := owner.UploadOAuthTokens(ctx, c.in)
			ae, ok := err.(*client.APIError)
			if !ok || ae.Status != c.code || ae.Body.Field != c.field {
				t.Fatalf("got %v (%+v), want %d on field %q", err, ae, c.code, c.field)
			}
			if c.in.Key == "K" {
				if _, err := owner.OAuthStatus(ctx, "default", "K"); status(err) != 404 {
					t.Fatalf("a refused upload stored something")
				}
			}
		})
	}
}

// The public console's mask for "unchanged" keeps the stored token or
// secret, never sending the mask itself anywhere, and never keeping a
// secret for another token URL.
func TestOAuthUnchangedMask(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	p.AddClient(oauthtest.Client{ID: "app", Secret: "masked-secret", AuthMethod: "client_secret_post", RedirectURI: cbURL})
	e := newOAuthEnv(t, p)
	owner := e.owner()
	ctx := context.Background()
	pasted := p.Authorize(t, "app", "")
	if _, err := owner.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "M", RefreshToken: pasted.Refresh, TokenURL: p.TokenURL, ClientID: "app", ClientSecret: "masked-secret"}); err != nil {
		t.Fatal(err)
	}
	before, _ := owner.OAuthStatus(ctx, "default", "M")
	// Everything masked: the stored tokens and secret stay.
	if _, err := owner.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "M", AccessToken: broker.OAuthUnchanged, RefreshToken: broker.OAuthUnchanged, ClientSecret: broker.OAuthUnchanged}); err != nil {
		t.Fatalf("masked re-upload: %v", err)
	}
	after, _ := owner.OAuthStatus(ctx, "default", "M")
	if !after.Connected || !after.HasRefreshToken || !after.HasClientSecret || after.ExpiresAt == nil || !after.ExpiresAt.Equal(*before.ExpiresAt) {
		t.Fatalf("after the masked upload: %+v", after)
	}
	if p.SecretSeen(broker.OAuthUnchanged) != 0 {
		t.Fatal("the mask was sent as a secret")
	}
	// The mask with another token URL keeps no secret and no refresh token.
	other := oauthtest.Start(t, oauthtest.Options{})
	_, err := owner.UploadOAuthTokens(ctx, apitype.OAuthTokensRequest{Vault: "default", Key: "M", RefreshToken: broker.OAuthUnchanged, ClientSecret: broker.OAuthUnchanged, AccessToken: broker.OAuthUnchanged, TokenURL: other.TokenURL})
	if status(err) != 400 {
		t.Fatalf("masked upload for another token URL: %v", err)
	}
	if other.TokenHits() != 0 {
		t.Fatal("the other token URL was called")
	}
}
