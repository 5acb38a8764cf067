package oauth

import (
	"context"
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

// A token endpoint that misbehaves (a compromised or wrong URL) gets
// nothing more than the request, and what it answers never carries a
// secret into an error.
func TestHostileTokenEndpoints(t *testing.T) {
	const clientSecret, refresh = "the-client-secret", "the-refresh-token"
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a redirect was followed to %s", r.URL)
	}))
	defer other.Close()
	cases := []struct {
		name    string
		handler http.HandlerFunc
		kind    ErrorKind
		check   func(t *testing.T, e *Error)
	}{
		{"echoes the secret in its error", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"bad refresh `+r.PostForm.Get("refresh_token")+` for secret `+r.PostForm.Get("client_secret")+`"}`)
		}, ErrRejected, func(t *testing.T, e *Error) {
			if e.Code != "invalid_grant" || !strings.Contains(e.Description, "[redacted]") {
				t.Errorf("code %q description %q", e.Code, e.Description)
			}
		}},
		{"puts the secret in the error code", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":"x`+clientSecret+`"}`)
		}, ErrRejected, func(t *testing.T, e *Error) {
			if e.Code != "" {
				t.Errorf("code %q kept", e.Code)
			}
		}},
		{"redirects elsewhere", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		}, ErrRejected, nil},
		{"answers a huge body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"access_token":"`+strings.Repeat("a", MaxResponseBytes+10)+`"}`)
		}, ErrMalformed, nil},
		{"answers HTML", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html>login</html>")
		}, ErrMalformed, nil},
		{"answers success without a token", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"token_type":"bearer"}`)
		}, ErrMalformed, nil},
		{"answers ok:false with 200", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_refresh_token"}`)
		}, ErrRejected, func(t *testing.T, e *Error) {
			if e.Code != "invalid_refresh_token" {
				t.Errorf("code %q", e.Code)
			}
		}},
		{"throttles", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
		}, ErrUnavailable, func(t *testing.T, e *Error) {
			if !e.Temporary() {
				t.Error("429 is not temporary")
			}
		}},
		{"stalls", func(w http.ResponseWriter, r *http.Request) {
			// net/http ends r.Context when the client hangs up only once
			// the body has been read (stall_test.go has the rest).
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, ErrUnreachable, func(t *testing.T, e *Error) {
			if e.Detail != "the endpoint did not answer in full within 500ms" {
				t.Errorf("detail %q", e.Detail)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(c.handler)
			defer srv.Close()
			pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			cl := &Client{Dialer: &netguard.Dialer{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}, RootCAs: pool, Timeout: 500 * time.Millisecond}
			_, err := cl.Token(context.Background(), Request{Config: Config{TokenURL: srv.URL + "/token", ClientID: "c", ClientSecret: secret.FromString(clientSecret)},
				Grant: GrantRefreshToken, RefreshToken: secret.FromString(refresh)})
			var e *Error
			if !errors.As(err, &e) || e.Kind != c.kind {
				t.Fatalf("got %v, want kind %s", err, c.kind)
			}
			for _, s := range []string{clientSecret, refresh} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("the error holds a secret: %v", err)
				}
			}
			if e.Hint() == "" {
				t.Error("no hint")
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

// Answers of every common shape are read: expires_in as a number or a
// string, scope as a string or a list, a form-encoded body.
func TestTokenAnswerShapes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &Client{Now: func() time.Time { return now }}
	for _, a := range []struct {
		body, ctype string
		exp         time.Duration
		scope       string
		refresh     bool
	}{
		{`{"access_token":"a","expires_in":3600,"scope":"x y","refresh_token":"r"}`, "application/json", time.Hour, "x y", true},
		{`{"access_token":"a","expires_in":"120","scope":["x","y"]}`, "application/json", 2 * time.Minute, "x y", false},
		{`access_token=a&expires_in=60&scope=x&token_type=bearer`, "application/x-www-form-urlencoded", time.Minute, "x", false},
		{`{"access_token":"a"}`, "application/json", 0, "", false},
		{`{"access_token":"a","expires_in":-5}`, "application/json", 0, "", false},
	} {
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {a.ctype}}}
		tok, err := c.parse("h", resp, []byte(a.body), nil)
		if err != nil {
			t.Fatalf("%s: %v", a.body, err)
		}
		wantExp := time.Time{}
		if a.exp > 0 {
			wantExp = now.Add(a.exp)
		}
		if string(tok.Access.Reveal()) != "a" || !tok.ExpiresAt.Equal(wantExp) || tok.Scope != a.scope || tok.Refresh.IsEmpty() == a.refresh {
			t.Errorf("%s: got expiry %v scope %q refresh %v", a.body, tok.ExpiresAt, tok.Scope, !tok.Refresh.IsEmpty())
		}
	}
}

func TestCheckTokenURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://oauth2.googleapis.com/token":  true,
		"https://127.0.0.1:8443/token?x=1":     true,
		"http://example.com/token":             false,
		"https://user:pw@example.com/token":    false,
		"https://example.com/token#frag":       false,
		"https:///token":                       false,
		"":                                     false,
		"file:///etc/passwd":                   false,
		"https://" + strings.Repeat("a", 2100): false,
	} {
		if err := CheckTokenURL(raw); (err == nil) != ok {
			t.Errorf("CheckTokenURL(%.40q) = %v, want ok %v", raw, err, ok)
		}
	}
}

// FuzzTokenAnswer: whatever a token endpoint answers, reading it does not
// panic, and a failure never quotes a secret that was sent.
func FuzzTokenAnswer(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"a","expires_in":3600}`))
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"SECRETVALUE"}`))
	f.Add(200, []byte(`access_token=a&expires_in=1e309`))
	f.Add(200, []byte(`{"access_token":"a","expires_in":"9999999999999999999","scope":[1,2]}`))
	f.Add(500, []byte("\xff\xfe"))
	sent := [][]byte{[]byte("SECRETVALUE")}
	c := &Client{}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		tok, err := c.parse("h", resp, body, sent)
		if err != nil {
			if strings.Contains(err.Error(), "SECRETVALUE") {
				t.Fatalf("error quotes a sent secret: %v", err)
			}
			return
		}
		if tok.Access.IsEmpty() {
			t.Fatal("success without an access token")
		}
	})
}
