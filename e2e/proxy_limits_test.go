package e2e

// Framing and limits of the broker proxy through the real binary:
// request smuggling attempts, body size limits, netguard, redirects and
// secrets hygiene.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestProxyRequestSmuggling(t *testing.T) {
	t.Parallel()
	ca := pxNewCA(t)
	tlsUp := pxStartUpstream(t, ca, pxAuthHandler("Bearer "+pxAPIKey))
	plainUp := pxStartUpstream(t, nil, pxAuthHandler("Bearer "+pxAPIKey))
	b := pxStart(t, pxOpts{ca: ca})
	b.creds("", map[string]string{"API_KEY": pxAPIKey})
	b.services("", `services:
  - name: tls-api
    host: `+tlsUp.hostport()+`
    auth: {type: bearer, token: API_KEY}
  - name: plain-api
    host: `+plainUp.hostport()+`
    allow_plaintext: true
    auth: {type: bearer, token: API_KEY}
`)
	tok := b.agent("bot")
	auth := pxBasic(tok, "default")

	type variant struct {
		name    string
		headers string // framing headers, CRLF-terminated
		body    string // may hold a smuggled request ({{REQ}} is its request line prefix)
		codes   []int  // acceptable refusals
		strict  string // when set and the proxy accepts: a known deviation (skip)
	}
	smuggled := func(prefix, extra string) string {
		return "GET " + prefix + "/smuggled HTTP/1.1\r\nHost: HOST\r\n" + extra + "\r\n"
	}
	for _, where := range []string{"absolute-form", "tunnel"} {
		var (
			up     *pxUpstream
			prefix string // request-target prefix
			extra  string // Proxy-Authorization line, for absolute-form
		)
		if where == "absolute-form" {
			up, prefix, extra = plainUp, plainUp.url(), "Proxy-Authorization: "+auth+"\r\n"
		} else {
			up, prefix, extra = tlsUp, "", ""
		}
		host := up.hostport()
		smug := strings.ReplaceAll(smuggled(prefix, extra), "HOST", host)
		variants := []variant{
			{"CL.TE: Content-Length and Transfer-Encoding", fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n", len("0\r\n\r\n")+len(smug)),
				"0\r\n\r\n" + smug, []int{400}, "both Content-Length and Transfer-Encoding are accepted (Go treats the body as chunked, drops Content-Length and keeps the connection open), where RFC 9112 §6.3 says it ought to be handled as an error"},
			{"TE.CL: Transfer-Encoding and a short Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
				"8\r\nSMUGGLED\r\n0\r\n\r\n", []int{400}, "both Content-Length and Transfer-Encoding are accepted (Go treats the body as chunked), where RFC 9112 §6.3 says it ought to be handled as an error"},
			{"two different Content-Length headers", fmt.Sprintf("Content-Length: 0\r\nContent-Length: %d\r\n", len(smug)), smug, []int{400}, ""},
			{"Content-Length list", fmt.Sprintf("Content-Length: %d, 0\r\n", len(smug)), smug, []int{400}, ""},
			{"signed Content-Length", fmt.Sprintf("Content-Length: +%d\r\n", len(smug)), smug, []int{400}, ""},
			// RFC 9112 §6.1: an unknown transfer coding SHOULD get 501.
			{"obfuscated Transfer-Encoding xchunked", "Transfer-Encoding: xchunked\r\n", "0\r\n\r\n" + smug, []int{400, 501}, ""},
			{"Transfer-Encoding chunked, identity", fmt.Sprintf("Transfer-Encoding: chunked, identity\r\nContent-Length: %d\r\n", len("0\r\n\r\n")+len(smug)), "0\r\n\r\n" + smug, []int{400, 501}, ""},
			{"space before the colon", fmt.Sprintf("Transfer-Encoding : chunked\r\nContent-Length: %d\r\n", len("0\r\n\r\n")+len(smug)), "0\r\n\r\n" + smug, []int{400}, ""},
			{"two Transfer-Encoding headers", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "0\r\n\r\n" + smug, []int{400, 501}, ""},
		}
		for _, v := range variants {
			t.Run(where+" "+v.name, func(t *testing.T) {
				var conn *pxRaw
				if where == "absolute-form" {
					conn = b.dialRaw()
				} else {
					conn = b.tunnel(host, auth, "localhost")
				}
				before := up.requests()
				req := "POST " + prefix + "/first HTTP/1.1\r\nHost: " + host + "\r\n" + extra + v.headers + "\r\n" + v.body
				resp, body := conn.roundTrip(t, req, http.MethodPost)
				b.recordClient(body)
				// Anything more on this connection is read within a short
				// deadline: a second answer means a second request.
				_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				rest, _ := io.ReadAll(conn.br)
				time.Sleep(50 * time.Millisecond)
				got := up.requests()[len(before):]
				var problems []string
				for _, s := range got {
					if s.Path == "/smuggled" {
						problems = append(problems, "the smuggled request reached the upstream as a request of its own")
					}
				}
				if len(got) > 1 {
					problems = append(problems, fmt.Sprintf("the upstream got %d requests from one", len(got)))
				}
				if strings.Contains(string(rest), "HTTP/1.1 ") {
					problems = append(problems, "the proxy answered a second request on the connection: "+strings.SplitN(string(rest), "\r\n", 2)[0])
				}
				refused := false
				for _, c := range v.codes {
					refused = refused || resp.StatusCode == c
				}
				// RFC 9112 §6.3 lets a server process a CL+TE request by its
				// Transfer-Encoding alone, provided it closes the connection
				// after answering: then nothing smuggled can follow.
				processedAndClosed := v.strict != "" && resp.StatusCode == http.StatusOK && resp.Close
				if !refused && !processedAndClosed {
					problems = append(problems, fmt.Sprintf("answered %d %q, want a refusal %v (or, for CL+TE, an answer that closes the connection)", resp.StatusCode, body, v.codes))
				} else if refused && len(got) != 0 {
					problems = append(problems, "a refused request reached the upstream")
				}
				if len(problems) == 0 {
					return
				}
				for _, p := range problems {
					t.Error(p)
				}
			})
		}
	}
}

func TestProxySizeLimits(t *testing.T) {
	t.Parallel()
	chunk := strings.Repeat("r", 512)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo-size":
			fmt.Fprintf(w, "got %d", len(pxMustReadAll(r.Body)))
		case "/small":
			io.WriteString(w, strings.Repeat("s", 500))
		case "/exact-chunked": // 1024 bytes, no Content-Length: at the limit is fine
			for range 2 {
				io.WriteString(w, chunk)
				w.(http.Flusher).Flush()
			}
		case "/big-cl":
			w.Header().Set("Content-Length", "2048")
			io.WriteString(w, strings.Repeat("b", 2048))
		case "/big-chunked":
			for range 4 {
				io.WriteString(w, chunk)
				w.(http.Flusher).Flush()
			}
		}
	})
	b, up, tok := pxSetup(t, pxOpts{args: []string{"--max-request-bytes", "1k", "--max-response-bytes", "1k"}}, h)
	for _, h2 := range []bool{false, true} {
		t.Run("h2="+strconv.FormatBool(h2), func(t *testing.T) {
			cl := b.client(tok, "default", h2)
			// Request bodies: at the limit passes, over it is 413.
			resp, err := cl.Post(up.url()+"/echo-size", "text/plain", strings.NewReader(strings.Repeat("q", 1024)))
			if err != nil {
				t.Fatal(err)
			}
			if body := b.read(resp); resp.StatusCode != 200 || body != "got 1024" {
				t.Fatalf("1 KiB body: %d %q", resp.StatusCode, body)
			}
			before := up.count()
			resp, err = cl.Post(up.url()+"/echo-size", "text/plain", strings.NewReader(strings.Repeat("q", 2048)))
			if err != nil {
				t.Fatal(err)
			}
			pxBrokerErr(t, resp.StatusCode, resp.Header, b.read(resp), http.StatusRequestEntityTooLarge, "")
			if up.count() != before {
				t.Errorf("an over-limit body (with Content-Length) reached the upstream")
			}
			// Without Content-Length the limit applies while streaming.
			resp, err = cl.Post(up.url()+"/echo-size", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("q", 2048))))
			if err != nil {
				t.Fatal(err)
			}
			body := b.read(resp)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("a streamed 2 KiB body: %d %q, want 413", resp.StatusCode, body)
			}
			for _, s := range up.requests()[before:] {
				if len(s.Body) > 1024 {
					t.Errorf("the upstream received %d bytes of an over-limit body", len(s.Body))
				}
			}

			// Responses.
			resp, err = cl.Get(up.url() + "/small")
			if err != nil {
				t.Fatal(err)
			}
			if body := b.read(resp); resp.StatusCode != 200 || len(body) != 500 {
				t.Fatalf("small response: %d, %d bytes", resp.StatusCode, len(body))
			}
			resp, err = cl.Get(up.url() + "/exact-chunked")
			if err != nil {
				t.Fatal(err)
			}
			if body := b.read(resp); resp.StatusCode != 200 || len(body) != 1024 {
				t.Fatalf("a response of exactly the limit: %d, %d bytes", resp.StatusCode, len(body))
			}
			resp, err = cl.Get(up.url() + "/big-cl")
			if err != nil {
				t.Fatal(err)
			}
			pxBrokerErr(t, resp.StatusCode, resp.Header, b.read(resp), http.StatusBadGateway, "response_too_large")

			resp, err = cl.Get(up.url() + "/big-chunked")
			if err != nil {
				t.Fatal(err)
			}
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			b.recordClient(string(data))
			if rerr == nil && len(data) >= 2048 {
				t.Fatalf("a 2 KiB stream passed a 1 KiB limit whole")
			}
			if rerr == nil && resp.StatusCode == http.StatusOK {
				t.Errorf("an over-limit stream ended cleanly after %d bytes: a silent truncation", len(data))
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.srv.stderr.String()+b.srv.stdout.String(), "aborted") {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log the aborted stream:\n%s", b.srv.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pxMustReadAll(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}

func TestProxyNetguard(t *testing.T) {
	t.Parallel()
	// A request to a blocked destination answers 403 destination_blocked
	// (never a generic 502) and reaches nothing.
	blocked := func(t *testing.T, b *pxBroker, cl *http.Client, rawURL string) {
		t.Helper()
		resp, err := cl.Get(rawURL)
		if err != nil {
			t.Fatalf("GET %s: %v", rawURL, err)
		}
		pxBrokerErr(t, resp.StatusCode, resp.Header, b.read(resp), http.StatusForbidden, "destination_blocked")
	}
	connectBlocked := func(t *testing.T, b *pxBroker, tok, target string) {
		t.Helper()
		_, resp, body := b.connect(target, pxBasic(tok, "default"))
		pxBrokerErr(t, resp.StatusCode, resp.Header, body, http.StatusForbidden, "destination_blocked")
	}
	metadata := []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://169.254.170.2/v2/credentials",
		"http://100.100.100.200/latest/meta-data/",
		"http://168.63.129.16/machine",
		"http://[fd00:ec2::254]/latest/meta-data/",
	}

	t.Run("private ranges blocked by default", func(t *testing.T) {
		t.Parallel()
		b, up, tok := pxSetup(t, pxOpts{noPrivate: true}, nil)
		plain := pxStartUpstream(t, nil, pxAuthHandler(""))
		for _, h2 := range []bool{false, true} {
			cl := b.client(tok, "default", h2)
			blocked(t, b, cl, up.url()+"/x")                                  // intercepted (a service matches), resolves to loopback
			blocked(t, b, cl, "https://127.0.0.1:"+strconv.Itoa(up.port)+"/") // IP literal
			blocked(t, b, cl, plain.url()+"/")                                // absolute-form http://
			blocked(t, b, cl, "http://[::ffff:127.0.0.1]:"+strconv.Itoa(plain.port)+"/")
			blocked(t, b, cl, "http://10.0.0.1/")
		}
		// A host no service matches is tunnelled blind, but not to a
		// blocked address: the CONNECT itself is refused.
		connectBlocked(t, b, tok, "127.0.0.2:"+strconv.Itoa(up.port))
		if n := up.count() + plain.count(); n != 0 {
			t.Fatalf("blocked requests reached an upstream %d times", n)
		}
	})

	t.Run("allowlist punches a hole", func(t *testing.T) {
		t.Parallel()
		b, up, tok := pxSetup(t, pxOpts{noPrivate: true, env: []string{"AGENT_VAULT_NETWORK_ALLOWLIST=127.0.0.1/32, 169.254.0.0/16"}}, nil)
		cl := b.client(tok, "default", true)
		resp, err := cl.Get(up.url() + "/allowed")
		if err != nil {
			t.Fatal(err)
		}
		if body := b.read(resp); resp.StatusCode != 200 {
			t.Fatalf("allowlisted loopback: %d %s", resp.StatusCode, body)
		}
		pxCheckInjected(t, up.last(t), "Bearer "+pxAPIKey)
		// Outside the allowlist: still blocked.
		blocked(t, b, cl, "http://127.0.0.2:"+strconv.Itoa(up.port)+"/")
		blocked(t, b, cl, "http://10.1.2.3/")
		// Metadata stays blocked even inside an allowlisted prefix.
		for _, u := range metadata {
			blocked(t, b, cl, u)
		}
		// A would-be blind tunnel to port 443: refused inside the tunnel,
		// with the JSON (docs/proxy.md); on another port, at the CONNECT.
		blocked(t, b, cl, "https://169.254.169.254/latest/meta-data/")
		connectBlocked(t, b, tok, "169.254.169.254:8443")
	})

	t.Run("metadata blocked even with private ranges allowed", func(t *testing.T) {
		t.Parallel()
		b, up, tok := pxSetup(t, pxOpts{}, nil)
		// Even services for the metadata host with a credential (plaintext
		// allowed on port 80, so that http:// is not refused earlier as
		// insecure_transport, and https:// is intercepted).
		b.services("", `services:
  - name: api
    host: `+up.hostport()+`
    auth: {type: bearer, token: API_KEY}
  - name: metadata-http
    host: 169.254.169.254:80
    allow_plaintext: true
    auth: {type: bearer, token: API_KEY}
  - name: metadata-https
    host: 169.254.169.254:443
    auth: {type: bearer, token: API_KEY}
`)
		for _, h2 := range []bool{false, true} {
			cl := b.client(tok, "default", h2)
			for _, u := range append(metadata, "https://169.254.169.254/latest/meta-data/") {
				blocked(t, b, cl, u)
			}
			// The control: private ranges are allowed here.
			resp, err := cl.Get(up.url() + "/ok")
			if err != nil {
				t.Fatal(err)
			}
			if body := b.read(resp); resp.StatusCode != 200 {
				t.Fatalf("localhost with AGENT_VAULT_ALLOW_PRIVATE_RANGES=true: %d %s", resp.StatusCode, body)
			}
		}
		// Blind tunnels (no service matches these ports) are refused too.
		connectBlocked(t, b, tok, "169.254.169.254:8443")
		blocked(t, b, b.client(tok, "default", false), "https://[fd00:ec2::254]/") // port 443: refused inside the tunnel
	})
}

func TestProxyNeverFollowsRedirects(t *testing.T) {
	t.Parallel()
	var b *pxBroker
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/relative":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/absolute":
			http.Redirect(w, r, "https://"+r.Host+"/target?from=absolute", http.StatusFound)
		case "/post":
			http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
		case "/target":
			io.WriteString(w, "the redirect target")
		}
	})
	b, up, tok := pxSetup(t, pxOpts{}, h)
	for _, h2 := range []bool{false, true} {
		cl := b.client(tok, "default", h2)
		for _, c := range []struct {
			method, path string
			status       int
			location     string
		}{
			{http.MethodGet, "/relative", http.StatusFound, "/target"},
			{http.MethodGet, "/absolute", http.StatusFound, up.url() + "/target?from=absolute"},
			{http.MethodPost, "/post", http.StatusTemporaryRedirect, "/target"},
		} {
			req, _ := http.NewRequest(c.method, up.url()+c.path, strings.NewReader("payload"))
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := b.read(resp)
			if resp.StatusCode != c.status || resp.Header.Get("Location") != c.location {
				t.Errorf("%s %s: %d Location %q (%q), want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Location"), body, c.status, c.location)
			}
			if resp.Header.Get("X-Agent-Vault-Proxy-Error") != "" {
				t.Errorf("%s %s: the upstream's redirect was marked as a broker error", c.method, c.path)
			}
		}
	}
	if curl, err := pxLookPath("curl"); err == nil {
		o := b.run("", pxClientEnv(t), curl, "-sS", "--max-time", "10", "--noproxy", "", "--proxy", b.proxyURL(tok, "default").String(),
			"--cacert", b.caFile, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", up.url()+"/relative")
		if o.err != nil || o.stdout != "302 "+up.url()+"/target" {
			t.Errorf("curl (without -L) through the proxy:\n%s", o)
		}
	}
	for _, s := range up.requests() {
		if s.Path == "/target" {
			t.Fatalf("the proxy followed a redirect: the upstream saw %s /target", s.Method)
		}
		pxCheckInjected(t, s, "Bearer "+pxAPIKey)
	}
}

// TestProxyListenerBindFailure: a --mitm-port that is taken is a clear
// start failure, not a server running without its proxy.
func TestProxyListenerBindFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	stderr := expectStartFailure(t, serverOpts{dataDir: t.TempDir(), args: []string{"--mitm-port", port}})
	mustContain(t, "the start failure", stderr, "broker proxy", port, "--mitm-port")
}
