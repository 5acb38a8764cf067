package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

const secretValue = "sk_live_TOPSECRET_0123456789"

func bearer(name, host, key string) apitype.Service {
	return apitype.Service{Name: name, Host: host, Auth: apitype.ServiceAuth{Type: "bearer", Token: key}}
}

// brokerError decodes a broker-layer error, checking its marker header.
func brokerError(t *testing.T, resp *http.Response, status int, code string) map[string]any {
	t.Helper()
	body := read(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, status)
	}
	if resp.Header.Get("X-Agent-Vault-Proxy-Error") != "true" {
		t.Errorf("missing X-Agent-Vault-Proxy-Error on %d %s", resp.StatusCode, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if m["error"] != code {
		t.Fatalf("error code %v, want %s (%s)", m["error"], code, body)
	}
	return m
}

func TestInjectsBearerOverHTTP1AndHTTP2(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	for _, h2 := range []bool{false, true} {
		c := e.client(tok, "default", h2)
		req, _ := http.NewRequest("GET", "https://"+e.upstream+"/v1/things?x=1", nil)
		req.Header.Set("Authorization", "Bearer agent-made-this-up")
		// Inside the tunnel the client sends no Proxy-Authorization of its
		// own (that went with the CONNECT): the agent adds the broker's
		// headers to the inner request by hand, as a hostile agent would.
		for _, name := range []string{"Proxy-Authorization", "X-Vault", "X-Agent-Vault-Token"} {
			req.Header.Set(name, "Basic "+base64.StdEncoding.EncodeToString([]byte(tok+":default")))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := read(t, resp)
		if resp.StatusCode != 200 || body != "upstream GET /v1/things?x=1" {
			t.Fatalf("h2=%v: %d %q", h2, resp.StatusCode, body)
		}
		wantProto := 1
		if h2 {
			wantProto = 2
		}
		if resp.ProtoMajor != wantProto {
			t.Errorf("agent side spoke HTTP/%d, want %d", resp.ProtoMajor, wantProto)
		}
		got := e.seen.last()
		if vals := got.Header.Values("Authorization"); len(vals) != 1 || vals[0] != "Bearer "+secretValue {
			t.Fatalf("upstream saw Authorization %q, want exactly the injected one", vals)
		}
		for _, name := range []string{"Proxy-Authorization", "X-Vault", "X-Agent-Vault-Token"} {
			if v, ok := got.Header[http.CanonicalHeaderKey(name)]; ok {
				t.Errorf("h2=%v: the broker header %s reached the upstream (%d values)", h2, name, len(v))
			}
		}
		if got.Host != e.upstream {
			t.Errorf("upstream Host %q, want %q", got.Host, e.upstream)
		}
		// A simple GET takes the HTTP/1.1 leg whatever the agent spoke;
		// other requests of HTTP/2 agents keep HTTP/2
		// (TestHTTP2AgentsSimpleRequestsTakeTheHTTP1Leg).
		if got.ProtoMajor != 1 {
			t.Errorf("upstream leg spoke HTTP/%d, want 1", got.ProtoMajor)
		}
	}
	if strings.Contains(e.logText(), secretValue) || strings.Contains(e.logText(), tok) {
		t.Error("a secret reached the logs")
	}
}

func TestProxyAuthRequired(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	for name, c := range map[string]*http.Client{
		"no credentials": e.client("", "", false),
		"unknown token":  e.client("av_agt_"+strings.Repeat("0", 64), "default", false),
		"garbage token":  e.client("nope", "default", false),
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+e.plainUp+"/", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			brokerError(t, resp, http.StatusProxyAuthRequired, "proxy_auth_required")
			if resp.Header.Get("Proxy-Authenticate") == "" {
				t.Error("407 without Proxy-Authenticate")
			}
			// CONNECT is refused too (Go reports the 407 as an error).
			if _, err := c.Get("https://" + e.upstream + "/"); err == nil {
				t.Error("CONNECT without valid credentials succeeded")
			}
		})
	}
}

func TestDenyPolicyDisabledServiceAndHints(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test/api/*", "API_KEY"))
	ctx := context.Background()
	if _, err := e.b.UpdateVaultSettings(ctx, e.owner, "default", apitype.VaultSettings{UnmatchedHostPolicy: "deny"}); err != nil {
		t.Fatal(err)
	}
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	resp, err := c.Get("https://" + e.upstream + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	m := brokerError(t, resp, http.StatusForbidden, "forbidden")
	hint, _ := m["proposal_hint"].(map[string]any)
	if hint == nil || hint["endpoint"] != "POST /v1/proposals" || hint["host"] != e.upstream {
		t.Fatalf("proposal_hint = %v", m["proposal_hint"])
	}
	// Dot segments cannot borrow /api/*'s credential.
	resp, _ = c.Get("https://" + e.upstream + "/api/../admin")
	brokerError(t, resp, http.StatusForbidden, "forbidden")
	resp, _ = c.Get("https://" + e.upstream + "/api/%2e%2e/admin")
	brokerError(t, resp, http.StatusForbidden, "forbidden")
	// The matching path is served.
	resp, _ = c.Get("https://" + e.upstream + "/api/x")
	if b := read(t, resp); resp.StatusCode != 200 {
		t.Fatalf("/api/x: %d %s", resp.StatusCode, b)
	}
	if _, err := e.b.PatchService(ctx, e.owner, "default", "api", apitype.ServicePatch{Enabled: new(bool)}); err != nil {
		t.Fatal(err)
	}
	resp, _ = c.Get("https://" + e.upstream + "/api/x")
	brokerError(t, resp, http.StatusForbidden, "service_disabled")
}

func TestPassthroughTunnelsBlindAndInterceptsMatchableHosts(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test/api/*", "API_KEY"))
	tok := e.agent("bot", "proxy")
	// other.test has no service: the tunnel is blind, so the agent sees the
	// upstream's own certificate, which it does not trust.
	c := e.client(tok, "default", false)
	_, err := c.Get("https://other.test:" + itoa(e.upPort) + "/")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("blind tunnel: err %v, want an untrusted-certificate error from the real upstream", err)
	}
	// api.test is intercepted even off the service's path: forwarded
	// without a credential.
	resp, err := c.Get("https://" + e.upstream + "/other")
	if err != nil {
		t.Fatal(err)
	}
	if b := read(t, resp); resp.StatusCode != 200 || e.seen.last().Header.Get("Authorization") != "" {
		t.Fatalf("unmatched path: %d %s, upstream auth %q", resp.StatusCode, b, e.seen.last().Header.Get("Authorization"))
	}
}

func TestHostHeaderMustMatchConnectTarget(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"), bearer("other", "other.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
	_, _ = io.WriteString(tc, "GET /x HTTP/1.1\r\nHost: other.test:"+itoa(e.upPort)+"\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	brokerError(t, resp, http.StatusForbidden, "host_mismatch")
	if n := len(e.seen.reqs); n != 0 {
		t.Fatalf("upstream saw %d requests", n)
	}
}

// TestAbsoluteFormRoutesByTheURL: an absolute-form request goes where its
// URL says, whatever its Host header names. RFC 9112 §3.2.2 has a proxy
// ignore that header and use the URL's authority, which is what Go's
// server does before the proxy sees the request: the upstream receives
// the URL's host as Host, with the credential of the URL's service, and
// the host the header named is never contacted. A Host header that is
// not a host at all is refused before anything is forwarded.
func TestAbsoluteFormRoutesByTheURL(t *testing.T) {
	e := newEnv(t, true)
	const otherValue = "sk_live_OTHER_SERVICE_VALUE_42"
	e.setup(map[string]string{"API_KEY": secretValue, "OTHER_KEY": otherValue},
		bearer("api", "api.test", "API_KEY"), bearer("other", "other.test", "OTHER_KEY"),
		apitype.Service{Name: "plain", Host: e.plainUp, Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}, AllowPlaintext: true})
	tok := e.agent("bot", "proxy")
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default"))
	up, plain := itoa(e.upPort), itoa(e.plainPort)
	cases := []struct {
		url, host string // the request URL; the Host header the agent sends
		wantHost  string // what the upstream must see; "" when refused
	}{
		{"https://api.test:" + up + "/x", "other.test:" + up, "api.test:" + up},
		{"https://api.test:" + up + "/x", "api.test", "api.test:" + up},
		{"https://api.test:" + up + "/x", "evil.example", "api.test:" + up},
		{"https://api.test:" + up + "/x", "api.test:1", "api.test:" + up},
		{"http://" + e.plainUp + "/x", "other.test:" + plain, e.plainUp},
		{"http://" + e.plainUp + "/x", "api.test:" + up, e.plainUp},
		{"https://api.test:" + up + "/x", "api.test:" + up + "@other.test", ""},
		{"https://api.test:" + up + "/x", "other.test/x", ""},
	}
	for _, tc := range cases {
		t.Run(tc.url+" Host "+tc.host, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			before := len(e.seen.reqs)
			_, _ = io.WriteString(c, "GET "+tc.url+" HTTP/1.1\r\nHost: "+tc.host+"\r\nProxy-Authorization: "+auth+"\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body := read(t, resp)
			if tc.wantHost == "" {
				if resp.StatusCode != http.StatusBadRequest || len(e.seen.reqs) != before {
					t.Fatalf("a malformed Host header: %d %s, upstream reached %v; want 400 and nothing forwarded", resp.StatusCode, body, len(e.seen.reqs) != before)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || len(e.seen.reqs) != before+1 {
				t.Fatalf("%d %s, %d upstream requests; want 200 and one", resp.StatusCode, body, len(e.seen.reqs)-before)
			}
			got := e.seen.last()
			if got.Host != tc.wantHost {
				t.Errorf("upstream saw Host %q, want the URL's %q", got.Host, tc.wantHost)
			}
			if a := got.Header.Get("Authorization"); a != "Bearer "+secretValue {
				t.Errorf("upstream saw the credential of another service than the URL's (Authorization %q)", a)
			}
		})
	}
}

// TestAbsoluteFormRefusesADisagreeingHost: net/http's server sets r.Host
// to an absolute-form URL's authority, so through the listener the Host
// header never disagrees (TestAbsoluteFormRoutesByTheURL). Should a
// request reach the proxy from another server that kept the agent's Host,
// the proxy refuses it with host_mismatch and forwards nothing; the same
// request with the URL's Host is forwarded, so the refusal is the check's.
func TestAbsoluteFormRefusesADisagreeingHost(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"), bearer("other", "other.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default"))
	u := "https://" + e.upstream + "/x"
	for _, tc := range []struct{ host, code string }{
		{"other.test:" + itoa(e.upPort), "host_mismatch"},
		{"api.test:1", "host_mismatch"},
		{"evil.example", "host_mismatch"},
		{e.upstream, ""}, // the control: the URL's own authority
	} {
		req := httptest.NewRequest(http.MethodGet, u, nil)
		req.Host = tc.host
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("Proxy-Authorization", auth)
		before := len(e.seen.reqs)
		rec := httptest.NewRecorder()
		e.proxy.ServeHTTP(rec, req)
		resp := rec.Result()
		if tc.code == "" {
			if resp.StatusCode != http.StatusOK || len(e.seen.reqs) != before+1 {
				t.Fatalf("Host %s (the URL's): %d %s, want 200 forwarded once", tc.host, resp.StatusCode, read(t, resp))
			}
			continue
		}
		brokerError(t, resp, http.StatusForbidden, tc.code)
		if len(e.seen.reqs) != before {
			t.Errorf("Host %s: a request whose Host disagrees with its URL reached the upstream", tc.host)
		}
	}
}

// TestSNIMismatchIsRefused: inside a tunnel to one host, a TLS server
// name naming another host gets no certificate. The CONNECT itself must
// succeed (so the refusal is the handshake's), the proxy must be the side
// that aborts it (a TLS alert, not a dropped connection or a client-side
// verification failure), and the same tunnel with the matching name works.
func TestSNIMismatchIsRefused(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"), bearer("other", "other.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	for _, sni := range []string{"other.test", "evil.example", "api.test.evil.example"} {
		c, err := netDialTLSThroughProxy(e, tok, e.upstream, sni)
		if err == nil {
			c.Close()
			t.Fatalf("SNI %s: a handshake naming another host than the CONNECT target (%s) succeeded", sni, e.upstream)
		}
		if errors.Is(err, errConnectRefused) {
			t.Fatalf("SNI %s: %v; the test needs the CONNECT to succeed", sni, err)
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "remote error" {
			t.Fatalf("SNI %s: handshake error %v, want a TLS alert from the proxy", sni, err)
		}
	}
	// The control: the same CONNECT with the matching name completes.
	c, err := netDialTLSThroughProxy(e, tok, e.upstream, "api.test")
	if err != nil {
		t.Fatalf("matching SNI: %v", err)
	}
	if got := c.ConnectionState().PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "api.test" {
		t.Errorf("matching SNI: served a leaf for %v", got)
	}
	c.Close()
	if n := len(e.seen.reqs); n != 0 {
		t.Fatalf("upstream saw %d requests", n)
	}
}

func TestRevocationTakesEffectOnOpenTunnels(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	get := func() *http.Response {
		resp, err := c.Get("https://" + e.upstream + "/x")
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := get(); resp.StatusCode != 200 {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	read(t, get())
	// Kept alive: no database work at all.
	before := e.storeOps.Load()
	for range 5 {
		if resp := get(); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		} else {
			read(t, resp)
		}
	}
	if n := e.storeOps.Load() - before; n != 0 {
		t.Fatalf("kept-alive requests touched the store %d times", n)
	}
	// Deleting the credential's service and revoking the agent take effect
	// on the same tunnel at once.
	if _, err := e.b.RevokeAgent(context.Background(), e.owner, "bot"); err != nil {
		t.Fatal(err)
	}
	brokerError(t, get(), http.StatusProxyAuthRequired, "proxy_auth_required")
}

func TestCredentialChangesAreSeenAtOnce(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	resp, _ := c.Get("https://" + e.upstream + "/x")
	read(t, resp)
	if _, err := e.b.SetCredentials(context.Background(), e.owner, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"API_KEY": "rotated-value"}}); err != nil {
		t.Fatal(err)
	}
	resp, _ = c.Get("https://" + e.upstream + "/x")
	read(t, resp)
	if got := e.seen.last().Header.Get("Authorization"); got != "Bearer rotated-value" {
		t.Fatalf("after rotation upstream saw %q", got)
	}
}

func TestNetguardBlocksPrivateDestinations(t *testing.T) {
	e := newEnv(t, false)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	// Intercepted host resolving to loopback.
	resp, err := c.Get("https://" + e.upstream + "/x")
	if err != nil {
		t.Fatal(err)
	}
	brokerError(t, resp, http.StatusForbidden, "destination_blocked")
	// Absolute-form to a metadata address, and to a private literal.
	for _, u := range []string{"http://metadata.test/latest/meta-data/", "http://169.254.169.254/", "http://[::ffff:127.0.0.1]:" + itoa(e.plainPort) + "/", "http://10.0.0.1/"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		brokerError(t, resp, http.StatusForbidden, "destination_blocked")
	}
	// A blind tunnel to a blocked address is refused before 200.
	if _, err := c.Get("https://other.test:" + itoa(e.upPort) + "/"); err == nil {
		t.Fatal("CONNECT to a loopback address was tunnelled")
	}
	if len(e.seen.reqs) != 0 {
		t.Fatalf("a blocked request reached an upstream")
	}
}

func TestResponsesStreamAndDropCookies(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	next := make(chan struct{})
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "upstream-cookie"})
		for i := range 3 {
			_, _ = io.WriteString(w, "data: event"+itoa(i)+"\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-next: // the client saw this event before we send the next
			case <-time.After(5 * time.Second):
				return
			}
		}
	}))
	c := e.client(tok, "default", true)
	resp, err := c.Get("https://" + e.upstream + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Set-Cookie") != "" {
		t.Error("Set-Cookie reached the agent")
	}
	buf := make([]byte, 64)
	for i := range 3 {
		n, err := resp.Body.Read(buf)
		if err != nil || !strings.Contains(string(buf[:n]), "event"+itoa(i)) {
			t.Fatalf("event %d: %q %v (buffered instead of streamed?)", i, buf[:n], err)
		}
		next <- struct{}{}
	}
}

func TestSubstitutionsInPathAndQuery(t *testing.T) {
	e := newEnv(t, true)
	svc := apitype.Service{Name: "api", Host: "api.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "ACCOUNT_ID", Placeholder: "__ACCOUNT__"}}}
	e.setup(map[string]string{"ACCOUNT_ID": "acct/42 x"}, svc)
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	resp, err := c.Get("https://" + e.upstream + "/accounts/__ACCOUNT__/items?owner=__ACCOUNT__")
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp)
	got := e.seen.last()
	if got.URL.Path != "/accounts/acct/42 x/items" || got.URL.Query().Get("owner") != "acct/42 x" {
		t.Fatalf("upstream saw path %q query %q", got.URL.Path, got.URL.RawQuery)
	}
	if !strings.Contains(got.URL.RawQuery, "acct%2F42+x") {
		t.Errorf("query not URL-encoded: %q", got.URL.RawQuery)
	}
}
