package e2e

// Security rules of the broker proxy, through the real binary: proxy
// authentication, vault scoping, and the Host/CONNECT agreement.

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// pxCheck407 checks a missing/invalid proxy-auth answer.
func pxCheck407(t *testing.T, resp *http.Response, body string, secrets ...string) {
	t.Helper()
	pxBrokerErr(t, resp.StatusCode, resp.Header, body, http.StatusProxyAuthRequired, "")
	if got := resp.Header.Get("Proxy-Authenticate"); got != `Basic realm="agent-vault"` {
		t.Errorf("Proxy-Authenticate = %q, want Basic realm=\"agent-vault\"", got)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(body, s) {
			t.Errorf("the 407 body echoes what the client sent: %s", body)
		}
	}
}

func TestProxyAuthRequired(t *testing.T) {
	t.Parallel()
	b, up, tok := pxBearerSetup(t)
	revoked := b.agent("revoked-bot")
	b.owner.ok("", "agent", "revoke", "revoked-bot")
	target := up.hostport()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	bad := []struct{ name, auth string }{
		{"missing", ""},
		{"basic without credentials", "Basic"},
		{"basic not base64", "Basic !!!not-base64!!!"},
		{"basic empty token", "Basic " + b64(":default")},
		{"basic empty everything", "Basic " + b64("")},
		{"bearer empty", "Bearer "},
		{"bearer token with a space", "Bearer " + tok + " extra"},
		{"basic control character in token", "Basic " + b64(tok+"\x01:default")},
		{"basic control character in vault", "Basic " + b64(tok+":def\x00ault")},
		{"unknown scheme", "Digest username=\"bot\", realm=\"agent-vault\""},
		{"token in the wrong place", tok},
		{"unknown agent token", "Bearer av_agt_" + strings.Repeat("0", 64)},
		{"altered token", "Basic " + b64(tok[:len(tok)-1]+"x:default")},
		{"garbage token", "Basic " + b64("nope:default")},
		{"revoked agent", "Basic " + b64(revoked+":default")},
		{"oversized header", "Bearer " + tok + strings.Repeat("A", 5000)},
	}
	for _, c := range bad {
		t.Run("CONNECT "+c.name, func(t *testing.T) {
			_, resp, body := b.connect(target, c.auth)
			pxCheck407(t, resp, body, tok, revoked)
		})
		t.Run("absolute-form "+c.name, func(t *testing.T) {
			r := b.dialRaw()
			req := "GET " + up.url() + "/x HTTP/1.1\r\nHost: " + target + "\r\n"
			if c.auth != "" {
				req += "Proxy-Authorization: " + c.auth + "\r\n"
			}
			resp, body := r.roundTrip(t, req+"\r\n", http.MethodGet)
			pxCheck407(t, resp, body, tok, revoked)
		})
	}
	if n := up.count(); n != 0 {
		t.Fatalf("the upstream got %d requests from unauthenticated clients", n)
	}
	// The accepted forms (the controls: the rejections above are not
	// for some other reason).
	for _, auth := range []string{pxBasic(tok, "default"), "basic " + b64(tok+":default"), "Bearer " + tok, pxBasic(tok, "")} {
		tc := b.tunnel(target, auth, "localhost")
		resp, body := tc.roundTrip(t, "GET /ok HTTP/1.1\r\nHost: "+target+"\r\n\r\n", http.MethodGet)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Proxy-Authorization %.12s…: %d %s", auth, resp.StatusCode, body)
		}
	}
	if n := up.count(); n != 4 {
		t.Errorf("upstream got %d requests, want 4", n)
	}

	// curl without proxy credentials gets the 407.
	if curl, err := pxLookPath("curl"); err == nil {
		o := b.run("", pxClientEnv(t), curl, "-sS", "--max-time", "10", "--noproxy", "", "--proxy", "http://"+b.proxyAddr,
			"--cacert", b.caFile, up.url()+"/x")
		if o.err == nil || !strings.Contains(o.stderr, "407") {
			t.Errorf("curl without proxy credentials:\n%s", o)
		}
	}
}

func TestProxyVaultScoping(t *testing.T) {
	t.Parallel()
	const otherKey = "sk_other_vault_SECRET_e1e2e3"
	ca := pxNewCA(t)
	up := pxStartUpstream(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + pxAPIKey:
			io.WriteString(w, "vault=default")
		case "Bearer " + otherKey:
			io.WriteString(w, "vault=other")
		default:
			http.Error(w, "no credential", http.StatusUnauthorized)
		}
	}))
	b := pxStart(t, pxOpts{ca: ca})
	b.owner.ok("", "vault", "create", "other")
	b.creds("default", map[string]string{"API_KEY": pxAPIKey})
	b.creds("other", map[string]string{"OTHER_KEY": otherKey})
	host := up.hostport()
	b.services("default", "services:\n  - name: api\n    host: "+host+"\n    auth: {type: bearer, token: API_KEY}\n")
	b.services("other", "services:\n  - name: api\n    host: "+host+"\n    auth: {type: bearer, token: OTHER_KEY}\n")

	sessOut := b.owner.ok("", "vault", "token", "--vault", "default")
	sess := strings.TrimSpace(sessOut)
	if !strings.HasPrefix(sess, "av_sess_") || strings.ContainsAny(sess, " \n") {
		t.Fatalf("vault token printed %q", sessOut)
	}
	otherSess := strings.TrimSpace(b.owner.ok("", "vault", "token", "--vault", "other"))
	one := b.agent("one-vault")
	two := b.agent("two-vaults", "default:proxy", "other:proxy")
	b.mu.Lock()
	b.tokens = append(b.tokens, sess, otherSess)
	b.mu.Unlock()

	// get sends one request through a tunnel and returns the body, or the
	// CONNECT refusal.
	get := func(t *testing.T, auth string) (int, http.Header, string) {
		t.Helper()
		r, resp, body := b.connect(host, auth)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, resp.Header, body
		}
		r.Close()
		tc := b.tunnel(host, auth, "localhost")
		resp, body = tc.roundTrip(t, "GET /whoami HTTP/1.1\r\nHost: "+host+"\r\n\r\n", http.MethodGet)
		return resp.StatusCode, resp.Header, body
	}
	for _, c := range []struct {
		name, auth string
		status     int
		want       string // body on 200, error code otherwise
	}{
		{"scoped session without hint", pxBasic(sess, ""), 200, "vault=default"},
		{"scoped session as bearer", "Bearer " + sess, 200, "vault=default"},
		{"scoped session with its own vault", pxBasic(sess, "default"), 200, "vault=default"},
		{"scoped session with another vault's hint", pxBasic(sess, "other"), 403, "forbidden"},
		{"other scoped session with default's hint", pxBasic(otherSess, "default"), 403, "forbidden"},
		{"other scoped session", pxBasic(otherSess, ""), 200, "vault=other"},
		{"scoped session with an unknown vault", pxBasic(sess, "nope"), 403, "forbidden"},
		{"agent with one grant, no hint", pxBasic(one, ""), 200, "vault=default"},
		{"agent with one grant, hint of a vault it lacks", pxBasic(one, "other"), 403, "forbidden"},
		{"agent with two grants, no hint", pxBasic(two, ""), 400, "vault_required"},
		{"agent with two grants, bearer", "Bearer " + two, 400, "vault_required"},
		{"agent with two grants, hint default", pxBasic(two, "default"), 200, "vault=default"},
		{"agent with two grants, hint other", pxBasic(two, "other"), 200, "vault=other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := up.count()
			status, h, body := get(t, c.auth)
			b.recordClient(body)
			if c.status == 200 {
				if status != 200 || body != c.want {
					t.Fatalf("%d %q, want 200 %q", status, body, c.want)
				}
				return
			}
			m := pxBrokerErr(t, status, h, body, c.status, c.want)
			if up.count() != before {
				t.Errorf("a refused request reached the upstream")
			}
			if c.status == 400 {
				help, _ := m["help"].(string)
				msg, _ := m["message"].(string)
				if !strings.Contains(help+msg, "<vault>") || !strings.Contains(msg, "default") || !strings.Contains(msg, "other") {
					t.Errorf("the 400 does not say how to pick a vault (name it in the proxy URL): %s", body)
				}
			}
		})
	}
	// Inside a tunnel, X-Vault and Proxy-Authorization headers change
	// nothing: the CONNECT's credentials decide, and the headers stop at
	// the broker.
	tc := b.tunnel(host, pxBasic(two, "default"), "localhost")
	resp0, body0 := tc.roundTrip(t, "GET /whoami HTTP/1.1\r\nHost: "+host+"\r\nX-Vault: other\r\nProxy-Authorization: "+pxBasic(otherSess, "other")+"\r\n\r\n", http.MethodGet)
	if resp0.StatusCode != 200 || body0 != "vault=default" {
		t.Errorf("X-Vault inside a tunnel: %d %q, want the CONNECT's vault (default)", resp0.StatusCode, body0)
	}
	pxCheckInjected(t, up.last(t), "Bearer "+pxAPIKey)

	// Absolute-form requests follow the same rule.
	r := b.dialRaw()
	resp, body := r.roundTrip(t, "GET "+up.url()+"/x HTTP/1.1\r\nHost: "+host+"\r\nProxy-Authorization: "+pxBasic(sess, "other")+"\r\n\r\n", http.MethodGet)
	pxBrokerErr(t, resp.StatusCode, resp.Header, body, 403, "forbidden")
}

func TestProxyHostHeaderMustMatchConnectTarget(t *testing.T) {
	t.Parallel()
	b, up, tok := pxBearerSetup(t)
	// A second upstream, also brokered: a re-routed request would land here.
	ca2 := pxNewCA(t)
	up2 := pxStartUpstream(t, ca2, pxAuthHandler("Bearer "+pxAPIKey))
	b.services("", `services:
  - name: api
    host: `+up.hostport()+`
    auth: {type: bearer, token: API_KEY}
  - name: api-ip
    host: 127.0.0.1:`+strconv.Itoa(up.port)+`
    auth: {type: bearer, token: API_KEY}
  - name: other
    host: `+up2.hostport()+`
    auth: {type: bearer, token: API_KEY}
`)
	target := up.hostport()
	p := strconv.Itoa(up.port)
	auth := pxBasic(tok, "default")
	for _, host := range []string{
		"127.0.0.1:" + p, // the same upstream by another name: a service matches it too
		up2.hostport(),   // another brokered upstream
		"localhost",      // default port 443
		"evil.example:" + p,
		"localhost:" + p + "@evil.example",
	} {
		t.Run("tunnel Host "+host, func(t *testing.T) {
			tc := b.tunnel(target, auth, "localhost")
			resp, body := tc.roundTrip(t, "GET /x HTTP/1.1\r\nHost: "+host+"\r\n\r\n", http.MethodGet)
			if resp.StatusCode == http.StatusBadRequest && resp.Header.Get("X-Agent-Vault-Proxy-Error") == "" {
				return // refused by the HTTP layer as malformed: also never re-routed
			}
			pxBrokerErr(t, resp.StatusCode, resp.Header, body, http.StatusForbidden, "host_mismatch")
		})
	}
	// Go clients over HTTP/1.1 and HTTP/2 (:authority) with Request.Host.
	for _, h2 := range []bool{false, true} {
		cl := b.client(tok, "default", h2)
		req, _ := http.NewRequest(http.MethodGet, up.url()+"/x", nil)
		req.Host = "127.0.0.1:" + p
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := b.read(resp)
		if h2 && resp.ProtoMajor != 2 {
			t.Errorf("expected HTTP/2 to the agent, got %s", resp.Proto)
		}
		pxBrokerErr(t, resp.StatusCode, resp.Header, body, http.StatusForbidden, "host_mismatch")
	}
	if n := up.count() + up2.count(); n != 0 {
		t.Fatalf("mismatched requests reached an upstream %d times", n)
	}
	// Absolute-form: routing follows the URL, never the Host header. RFC
	// 9112 §3.2.2 has a proxy ignore Host and replace it with the URL's
	// authority, and so the proxy does (docs/proxy.md, "Errors").
	r := b.dialRaw()
	resp, body := r.roundTrip(t, "GET "+up.url()+"/x HTTP/1.1\r\nHost: "+up2.hostport()+"\r\nProxy-Authorization: "+auth+"\r\n\r\n", http.MethodGet)
	b.recordClient(body)
	if resp.StatusCode != http.StatusOK || up.count() != 1 {
		t.Fatalf("absolute-form request with another Host header: %d %s, %d requests at the URL's upstream; want 200 and one", resp.StatusCode, body, up.count())
	}
	if s := up.last(t); s.Host != target {
		t.Errorf("absolute-form request forwarded with Host %q, want the URL's %q", s.Host, target)
	}
	absolute := up.count()
	// A TLS server name other than the CONNECT target gets no certificate.
	rc, cresp, cbody := b.connect(target, auth)
	if cresp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %d %s", cresp.StatusCode, cbody)
	}
	tc := tls.Client(rc.Conn, &tls.Config{RootCAs: b.caPool, ServerName: "evil.example"})
	if err := tc.Handshake(); err == nil {
		t.Errorf("a TLS handshake for evil.example inside a tunnel to %s succeeded", target)
	} else if op := (*net.OpError)(nil); !errors.As(err, &op) || op.Op != "remote error" {
		t.Errorf("TLS handshake for evil.example: %v, want a TLS alert from the proxy", err)
	}
	if n := up.count() - absolute; n != 0 {
		t.Fatalf("mismatched requests reached the upstream %d times", n)
	}
	if n := up2.count(); n != 0 {
		t.Fatalf("a request was re-routed to the upstream its Host header named (%d times)", n)
	}
	// The control: the matching Host is served.
	tcOK := b.tunnel(target, auth, "localhost")
	resp, body = tcOK.roundTrip(t, "GET /x HTTP/1.1\r\nHost: "+target+"\r\n\r\n", http.MethodGet)
	if resp.StatusCode != 200 {
		t.Fatalf("matching Host: %d %s", resp.StatusCode, body)
	}
	pxCheckInjected(t, up.last(t), "Bearer "+pxAPIKey)
}
