package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The redirect URI comes from the configured base URL only: a connect
// request that names another host (Host, X-Forwarded-Host, Forwarded)
// cannot make the provider send the code there.
func TestOAuthConnectRedirectURIIgnoresRequestHost(t *testing.T) {
	e := newConnectEnv(t, true)
	reg, err := e.anon().Register(context.Background(), apitype.Credentials{Email: "owner@example.com", Password: "owner-password", SetupCode: setupCode})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e.connectReq("K"))
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/credentials/oauth/connect", bytes.NewReader(body))
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+reg.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Forwarded", "host=evil.example;proto=https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connect: %d %s", resp.StatusCode, raw)
	}
	var out apitype.OAuthConnectStarted
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(out.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Query().Get("redirect_uri"), e.url+"/v1/oauth/callback"; got != want {
		t.Fatalf("redirect_uri %q, want %q (the configured base URL)", got, want)
	}
}
