package agentvault

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recorded is one request the fake server saw.
type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

// fake serves one canned answer per "METHOD /path" and records requests.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	seen   []recorded
	answer map[string]func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T) *fake {
	f := &fake{t: t, answer: map[string]func(http.ResponseWriter, *http.Request){}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.seen = append(f.seen, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		h, ok := f.answer[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"no such endpoint: `+r.URL.Path+`","code":"not_found"}`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) json(route string, status int, body string) {
	f.answer[route] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func (f *fake) last() recorded {
	f.t.Helper()
	if len(f.seen) == 0 {
		f.t.Fatal("the server saw no request")
	}
	return f.seen[len(f.seen)-1]
}

func TestNewTrimsAndSetsOptions(t *testing.T) {
	h := &http.Client{}
	c := New(" http://x:1/ ", " tok ", WithVault(" v "), WithHTTPClient(h))
	if c.Addr() != "http://x:1" || c.token != "tok" || c.Vault() != "v" || c.http != h {
		t.Fatalf("got addr=%q token=%q vault=%q", c.Addr(), c.token, c.Vault())
	}
	if New("http://x", "t", WithHTTPClient(nil)).http == nil {
		t.Fatal("WithHTTPClient(nil) must keep the default client")
	}
	if tr, ok := New("http://x", "t").http.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Fatal("the default transport must not use the environment's proxy")
	}
}

func TestNewFromEnv(t *testing.T) {
	t.Setenv(EnvAddr, "http://127.0.0.1:1/")
	t.Setenv(EnvToken, "av_sess_x")
	t.Setenv(EnvVault, "ci")
	c, err := NewFromEnv()
	if err != nil || c.Addr() != "http://127.0.0.1:1" || c.token != "av_sess_x" || c.Vault() != "ci" {
		t.Fatalf("NewFromEnv = %+v, %v", c, err)
	}
	if c, _ := NewFromEnv(WithVault("other")); c.Vault() != "other" {
		t.Fatalf("WithVault must override the environment, got %q", c.Vault())
	}
	t.Setenv(EnvToken, "")
	if _, err := NewFromEnv(); err == nil || !strings.Contains(err.Error(), EnvToken) {
		t.Fatalf("missing token: err = %v", err)
	}
}

func TestCreateSession(t *testing.T) {
	f := newFake(t)
	f.json("POST /v1/sessions", 200, `{"id":"s1","token":"av_sess_abc","expires_at":"2030-01-02T03:04:05Z","av_addr":"https://vault.example","vault":"ci","vault_role":"proxy"}`)
	c := New(f.srv.URL, "av_user", WithVault("ci"))
	s, err := c.CreateSession(context.Background(), SessionRequest{Role: "proxy", TTL: time.Hour, Label: "job 7"})
	if err != nil {
		t.Fatal(err)
	}
	want := Session{ID: "s1", Token: "av_sess_abc", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Vault: "ci", Role: "proxy", Addr: "https://vault.example"}
	if s != want {
		t.Fatalf("session = %+v, want %+v", s, want)
	}
	r := f.last()
	if got := r.header.Get("Authorization"); got != "Bearer av_user" {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"vault": "ci", "vault_role": "proxy", "ttl_seconds": float64(3600), "label": "job 7"}
	for k, v := range wantBody {
		if body[k] != v {
			t.Errorf("body[%s] = %v, want %v (body %s)", k, body[k], v, r.body)
		}
	}

	// An explicit vault wins over the client's; a zero TTL is left out.
	if _, err := c.CreateSession(context.Background(), SessionRequest{Vault: "other"}); err != nil {
		t.Fatal(err)
	}
	if b := f.last().body; !strings.Contains(b, `"vault":"other"`) || strings.Contains(b, "ttl_seconds") || strings.Contains(b, "vault_role") {
		t.Errorf("body = %s", b)
	}
}

func TestCreateSessionRejectsFractionalTTL(t *testing.T) {
	f := newFake(t)
	c := New(f.srv.URL, "t")
	for _, ttl := range []time.Duration{1500 * time.Millisecond, -time.Second} {
		if _, err := c.CreateSession(context.Background(), SessionRequest{Vault: "v", TTL: ttl}); err == nil {
			t.Errorf("TTL %s accepted", ttl)
		}
	}
	if len(f.seen) != 0 {
		t.Fatalf("a request was sent: %+v", f.seen)
	}
}

func TestRevokeSession(t *testing.T) {
	f := newFake(t)
	f.json("DELETE /v1/sessions/s 1", 200, `{"status":"revoked"}`)
	c := New(f.srv.URL, "av_user")
	if err := c.RevokeSession(context.Background(), "s 1"); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.method != http.MethodDelete || r.path != "/v1/sessions/s 1" || r.header.Get("Authorization") != "Bearer av_user" {
		t.Fatalf("request = %+v", r)
	}
	if err := c.RevokeSession(context.Background(), ""); err == nil {
		t.Fatal("an empty id was accepted")
	}
	err := c.RevokeSession(context.Background(), "gone")
	if !IsCode(err, ErrCodeNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestDiscoverSendsVaultHeader(t *testing.T) {
	f := newFake(t)
	f.json("GET /discover", 200, `{"vault":"my-vault","services":[{"name":"stripe","host":"api.stripe.com"}],"available_credentials":["STRIPE_KEY"]}`)
	ctx := context.Background()

	d, err := New(f.srv.URL, "av_agt_x", WithVault("my-vault")).Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Vault != "my-vault" || len(d.Services) != 1 || d.Services[0] != (ServiceRef{Name: "stripe", Host: "api.stripe.com"}) || d.AvailableCredentials[0] != "STRIPE_KEY" {
		t.Fatalf("discovery = %+v", d)
	}
	r := f.last()
	if r.header.Get(VaultHeader) != "my-vault" || r.header.Get("Authorization") != "Bearer av_agt_x" || r.header.Get("Accept") != "application/json" {
		t.Fatalf("headers = %v", r.header)
	}

	if _, err := New(f.srv.URL, "av_sess_x").Discover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, set := f.last().header[VaultHeader]; set {
		t.Fatal("X-Vault sent without a vault")
	}
}

func TestStatus(t *testing.T) {
	f := newFake(t)
	f.json("GET /v1/status", 200, `{"initialized":true,"version":"1.2.3","proxy_port":14322}`)
	st, err := New(f.srv.URL, "").Status(context.Background())
	if err != nil || st.ProxyPort != 14322 || st.Version != "1.2.3" || !st.Initialized {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if _, set := f.last().header["Authorization"]; set {
		t.Fatal("Authorization sent without a token")
	}
}

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestFetchCA(t *testing.T) {
	f := newFake(t)
	f.answer["GET /v1/mitm/ca.pem"] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = io.WriteString(w, testPEM)
	}
	c := New(f.srv.URL, "t")
	pem, err := c.FetchCA(context.Background())
	if err != nil || string(pem) != testPEM {
		t.Fatalf("FetchCA = %q, %v", pem, err)
	}
	if r := f.last(); r.method != http.MethodGet || r.path != "/v1/mitm/ca.pem" {
		t.Fatalf("request = %+v", r)
	}

	f.json("GET /v1/mitm/ca.pem", 404, `{"error":"the broker proxy is not running on this server, so there is no CA","code":"not_found"}`)
	if _, err := c.FetchCA(context.Background()); !IsCode(err, ErrCodeNotFound) || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("err = %v", err)
	}

	f.answer["GET /v1/mitm/ca.pem"] = func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>") }
	if _, err := c.FetchCA(context.Background()); err == nil {
		t.Fatal("a non-PEM answer was accepted")
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	_, err := New(addr, "t").Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+addr) {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	if IsCode(err, "") || errors.As(err, &e) {
		t.Fatalf("a transport failure must not be an *Error: %v", err)
	}
	if _, err := New("", "t").Status(context.Background()); err == nil {
		t.Fatal("an empty address was accepted")
	}
}

func TestUnreadableAnswer(t *testing.T) {
	f := newFake(t)
	f.json("GET /discover", 200, `not json`)
	if _, err := New(f.srv.URL, "t").Discover(context.Background()); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("err = %v", err)
	}
}
