package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// TestTokenErrorNeverQuotesTheBasicCredentials: a token endpoint using
// client_secret_basic that quotes the Authorization header
// it got in its error_description, as "bad credentials: Basic …" messages
// do. The description reaches the agent in the proxy's 502
// oauth_refresh_failed and the server log, so the base64 of id:secret
// must be cut from it, with its padding or without.
func TestTokenErrorNeverQuotesTheBasicCredentials(t *testing.T) {
	const clientID, clientSecret, refresh = "client-1", "the-client-secret+/=", "the-refresh-token"
	const method = AuthBasic
	for _, echo := range []func(string) string{
		func(h string) string { return h },
		func(h string) string { return strings.TrimRight(h, "=") },
	} {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"bad credentials: `+echo(r.Header.Get("Authorization"))+`"}`)
		}))
		pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		cl := &Client{Dialer: &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}, RootCAs: pool, Timeout: 5 * time.Second}
		_, err := cl.Token(context.Background(), Request{Config: Config{TokenURL: srv.URL + "/token", ClientID: clientID,
			ClientSecret: secret.FromString(clientSecret), AuthMethod: method}, Grant: GrantRefreshToken, RefreshToken: secret.FromString(refresh)})
		srv.Close()
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), "bad credentials: Basic [redacted]") {
			t.Fatalf("method %q: %v, want the description with the credentials cut", method, err)
		}
		b64 := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(clientSecret)))
		if strings.Contains(err.Error(), strings.TrimRight(b64, "=")) {
			t.Fatalf("method %q: the error carries the client secret as base64: %v", method, err)
		}
	}
}
