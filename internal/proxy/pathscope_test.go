package proxy_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// rawRequest sends one request line with target as written (no client
// normalisation) and returns the response. Through a CONNECT tunnel
// when abs is false, as an absolute-form https:// request otherwise.
func rawRequest(t *testing.T, e *env, tok, method, target string, abs bool, headers ...string) (*http.Response, string) {
	t.Helper()
	var conn io.ReadWriter
	var br *bufio.Reader
	extra := ""
	if abs {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conn, br = c, bufio.NewReader(c)
		target = "https://" + e.upstream + target
		extra = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default")) + "\r\n"
	} else {
		tc, tbr := e.rawConnect(t, e.upstream, tok, "api.test")
		conn, br = tc, tbr
	}
	for _, h := range headers {
		extra += h + "\r\n"
	}
	if _, err := io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: "+e.upstream+"\r\n"+extra+"Connection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestPathScopeEscape is the attacker table for path-scoped credentials:
// raw paths that a lenient upstream (Tomcat, IIS, double decoders)
// resolves outside /api must never carry the /api/* credential, and what
// is forwarded is the canonical path that was matched.
func TestPathScopeEscape(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test/api/*", "API_KEY"))
	tok := e.agent("bot", "proxy")
	cases := []struct {
		raw string
		// forwarded is the request target the upstream must see with the
		// credential; "" means refused with 400 ambiguous_path.
		forwarded string
	}{
		{"/api/..;/admin", ""},
		{`/api/..\admin`, ""},
		{"/api/..%5cadmin", ""},
		{"/api/..%5Cadmin", ""},
		{"/api/%252e%252e/admin", ""},
		{"/api/..%252fadmin", ""},
		{"/api/%c0%ae%c0%ae/admin", ""},
		{"/api/%e0%80%ae%e0%80%ae/admin", ""},
		{"/api/x/..%2fadmin", ""},
		{"/api/%2e%2e%3b/admin", ""},
		{"/api/.;/x", ""},
		{"/api/;x/../admin", ""},
		{"/api/.../admin", ""},
		{"/api/..%20/admin", ""},
		{"/api/%25%32%65%25%32%65/admin", ""},
		{"/api/x%00/../admin", ""},
		// Accepted: forwarded as the canonical path that was matched.
		{"/api/x", "/api/x"},
		{"/api/./x/../y", "/api/y"},
		{"/api//x", "/api/x"},
		{"/api/x/", "/api/x/"},
		{"/api/x;v=1/y", "/api/x;v=1/y"},
		{"/api/caf%C3%A9?q=1", "/api/caf%C3%A9?q=1"},
		{"/api/a%3Fb", "/api/a%3Fb"},
	}
	for _, abs := range []bool{false, true} {
		for _, tc := range cases {
			before := len(e.seen.reqs)
			resp, body := rawRequest(t, e, tok, "GET", tc.raw, abs)
			var got *http.Request
			if len(e.seen.reqs) > before {
				got = e.seen.last()
			}
			if tc.forwarded == "" {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"ambiguous_path"`) {
					t.Errorf("abs=%v %s: %d %s, want 400 ambiguous_path", abs, tc.raw, resp.StatusCode, body)
				}
				if got != nil {
					t.Errorf("abs=%v %s: reached the upstream as %s", abs, tc.raw, got.RequestURI)
				}
				continue
			}
			if resp.StatusCode != 200 || got == nil {
				t.Errorf("abs=%v %s: %d %s", abs, tc.raw, resp.StatusCode, body)
				continue
			}
			if got.RequestURI != tc.forwarded || got.Header.Get("Authorization") != "Bearer "+secretValue {
				t.Errorf("abs=%v %s: upstream saw %s (credential %v), want %s with the credential", abs, tc.raw, got.RequestURI, got.Header.Get("Authorization") != "", tc.forwarded)
			}
		}
	}
	// HTTP/2: the same table through an intercepted HTTP/2 connection.
	h2 := e.client(tok, "default", true)
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", "https://"+e.upstream+"/", nil)
		req.URL.Opaque = tc.raw // sent as :path unchanged
		before := len(e.seen.reqs)
		resp, err := h2.Do(req)
		if err != nil {
			t.Errorf("h2 %s: %v", tc.raw, err)
			continue
		}
		body := read(t, resp)
		if resp.ProtoMajor != 2 {
			t.Fatalf("h2 %s: spoke %s", tc.raw, resp.Proto)
		}
		reached := len(e.seen.reqs) > before
		switch {
		case tc.forwarded == "" && (resp.StatusCode != http.StatusBadRequest || reached):
			t.Errorf("h2 %s: %d %s (reached %v), want 400", tc.raw, resp.StatusCode, body, reached)
		case tc.forwarded != "" && (resp.StatusCode != 200 || !reached || e.seen.last().RequestURI != tc.forwarded):
			t.Errorf("h2 %s: %d %s, want %s forwarded", tc.raw, resp.StatusCode, body, tc.forwarded)
		}
	}
	// A path that resolves outside the scope is simply not matched: no
	// credential (the vault passes unmatched traffic through).
	for _, raw := range []string{"/api/../admin", "/api/%2e%2e/admin", "/api/.%2e/admin", "/api/;x/../../admin"} {
		before := len(e.seen.reqs)
		resp, body := rawRequest(t, e, tok, "GET", raw, false)
		if len(e.seen.reqs) > before && e.seen.last().Header.Get("Authorization") != "" {
			t.Errorf("%s: the credential went to %s (%d %s)", raw, e.seen.last().RequestURI, resp.StatusCode, body)
		}
	}
}

// TestUnscopedServiceForwardsRawPath: a service bound to the whole host
// keeps forwarding the path as sent (encoded slashes included): its
// credential may go to any path of the host anyway.
func TestUnscopedServiceForwardsRawPath(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	resp, body := rawRequest(t, e, tok, "GET", "/projects/group%2Fname/x", false)
	if resp.StatusCode != 200 || e.seen.last().RequestURI != "/projects/group%2Fname/x" {
		t.Fatalf("%d %s; upstream saw %s", resp.StatusCode, body, e.seen.last().RequestURI)
	}
}

// TestServiceRulesRefuseWithProblem: a request outside a service's
// method or path rules is refused with an RFC 9457 problem naming the
// rule, with the proposal hint, and never reaches the upstream.
func TestServiceRulesRefuseWithProblem(t *testing.T) {
	e := newEnv(t, true)
	svc := bearer("api", "api.test", "API_KEY")
	svc.Methods = []string{"GET", "POST"}
	svc.Paths = &apitype.PathRules{Allow: []string{"/v1/*"}, Deny: []string{"/v1/admin*"}}
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	tok := e.agent("bot", "proxy")
	cases := []struct {
		method, raw, rule string // rule "" allowed
		header            string
	}{
		{"GET", "/v1/things", "", ""},
		{"POST", "/v1/things", "", ""},
		{"DELETE", "/v1/things", "methods", ""},
		{"PUT", "/v1/things", "methods", ""},
		{"GET", "/v2/things", "paths.allow", ""},
		{"GET", "/v1/admin/users", "paths.deny[0]", ""},
		{"GET", "/v1/ADMIN/users", "paths.deny[0]", ""},
		{"GET", "/v1/x/../admin/users", "paths.deny[0]", ""},
		{"GET", "/v1//admin", "paths.deny[0]", ""},
		{"GET", "/v1/x/..;/admin", "ambiguous", ""},
		{"GET", "/v1/%61dmin", "paths.deny[0]", ""},
		{"POST", "/v1/things", "methods", "X-HTTP-Method-Override: DELETE"},
		{"POST", "/v1/things", "methods", "X-HTTP-Method: put"},
		{"POST", "/v1/things", "methods", "X-Method-Override: PATCH"},
		{"POST", "/v1/things?_method=delete", "methods", ""},
		{"POST", "/v1/things", "", "X-HTTP-Method-Override: GET"},
		// Override names as frameworks read them: percent-encoded, '.' or
		// a space for the underscore (PHP), after a ';', with brackets,
		// and a header with underscores (CGI, Symfony).
		{"POST", "/v1/things?%5Fmethod=DELETE", "methods", ""},
		{"POST", "/v1/things?_m%65thod=DELETE", "methods", ""},
		{"POST", "/v1/things?.method=DELETE", "methods", ""},
		{"POST", "/v1/things?+method=DELETE", "methods", ""},
		{"POST", "/v1/things?x=1;_method=DELETE", "methods", ""},
		{"POST", "/v1/things?_method[]=DELETE", "methods", ""},
		{"POST", "/v1/things?_METHOD=delete", "methods", ""},
		{"POST", "/v1/things?_method=%44ELETE", "methods", ""},
		{"POST", "/v1/things?+_method=DELETE", "methods", ""},
		{"POST", "/v1/things?%20_method=DELETE", "methods", ""},
		{"POST", "/v1/things?_method%00=DELETE", "methods", ""},
		{"POST", "/v1/things", "methods", "X_HTTP_METHOD_OVERRIDE: DELETE"},
		{"POST", "/v1/things?other_method=DELETE", "", ""},
	}
	for _, abs := range []bool{false, true} {
		for _, tc := range cases {
			before := len(e.seen.reqs)
			var hs []string
			if tc.header != "" {
				hs = append(hs, tc.header)
			}
			resp, body := rawRequest(t, e, tok, tc.method, tc.raw, abs, hs...)
			reached := len(e.seen.reqs) > before
			switch tc.rule {
			case "":
				if resp.StatusCode != 200 || !reached {
					t.Errorf("abs=%v %s %s: %d %s", abs, tc.method, tc.raw, resp.StatusCode, body)
				}
				continue
			case "ambiguous":
				if resp.StatusCode != 400 || reached {
					t.Errorf("abs=%v %s %s: %d %s, want 400", abs, tc.method, tc.raw, resp.StatusCode, body)
				}
				continue
			}
			if reached {
				t.Errorf("abs=%v %s %s: reached the upstream", abs, tc.method, tc.raw)
			}
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("X-Agent-Vault-Proxy-Error") != "true" {
				t.Errorf("abs=%v %s %s: %d %s %s", abs, tc.method, tc.raw, resp.StatusCode, resp.Header.Get("Content-Type"), body)
				continue
			}
			var p struct {
				Type, Title, Detail, Error, Message, Help, Service, Rule string
				Status                                                   int
				ProposalHint                                             *struct{ Host, Endpoint string } `json:"proposal_hint"`
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			if p.Type == "" || p.Title == "" || p.Status != 403 || p.Error != "service_rule_refused" || p.Rule != tc.rule || p.Service != "api" ||
				!strings.Contains(p.Detail, tc.method) || p.ProposalHint == nil || p.ProposalHint.Endpoint != "POST /v1/proposals" || !strings.Contains(p.Help, "proposal") {
				t.Errorf("abs=%v %s %s: problem %+v", abs, tc.method, tc.raw, p)
			}
			if strings.Contains(body, secretValue) {
				t.Errorf("the problem body holds the credential")
			}
		}
	}
}

// TestPathScopeWithEscapes: a host pattern whose path glob percent-encodes
// a character matches the decoded request path, so its credential goes to
// that path; tricks that leave the scope, or that only look like the
// glob's escapes, never carry it.
func TestPathScopeWithEscapes(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("files", "api.test/my%20files/*", "API_KEY"))
	tok := e.agent("bot", "proxy")
	for _, tc := range []struct {
		raw       string
		forwarded string // "" for: the credential must not be sent
	}{
		{"/my%20files/report.pdf", "/my%20files/report.pdf"},
		{"/my%20files/caf%C3%A9", "/my%20files/caf%C3%A9"},
		{"/my%20files/./a/../b", "/my%20files/b"},
		{"/my%20files/../admin", ""},
		{"/my%20files/%2e%2e/admin", ""},
		{"/my%2520files/x", ""}, // decodes to a literal %20, not a space
		{"/my+files/x", ""},
		{"/my%20files", ""},
		{"/admin/my%20files/x", ""},
	} {
		before := len(e.seen.reqs)
		resp, body := rawRequest(t, e, tok, "GET", tc.raw, false)
		reached := len(e.seen.reqs) > before
		if tc.forwarded == "" {
			if reached && e.seen.last().Header.Get("Authorization") != "" {
				t.Errorf("%s: the credential went to %s (%d %s)", tc.raw, e.seen.last().RequestURI, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != 200 || !reached {
			t.Errorf("%s: %d %s", tc.raw, resp.StatusCode, body)
			continue
		}
		if got := e.seen.last(); got.RequestURI != tc.forwarded || got.Header.Get("Authorization") != "Bearer "+secretValue {
			t.Errorf("%s: upstream saw %s (credential %v), want %s with the credential", tc.raw, got.RequestURI, got.Header.Get("Authorization") != "", tc.forwarded)
		}
	}
}

// TestEarlyRefusalDoesNotAskForTheBody: a request the proxy refuses
// before reading its body (here: its service is disabled) is answered at
// once; a client that sent "Expect: 100-continue" never gets a
// "100 Continue" inviting the body the refusal will not read.
func TestEarlyRefusalDoesNotAskForTheBody(t *testing.T) {
	e := newEnv(t, true)
	off := false
	svc := bearer("api", "api.test", "API_KEY")
	svc.Enabled = &off
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	tok := e.agent("bot", "proxy")
	for _, abs := range []bool{false, true} {
		var conn net.Conn
		var br *bufio.Reader
		target, extra := "/upload", ""
		if abs {
			c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			conn, br = c, bufio.NewReader(c)
			target = "https://" + e.upstream + target
			extra = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default")) + "\r\n"
		} else {
			conn, br = e.rawConnect(t, e.upstream, tok, "api.test")
		}
		if _, err := io.WriteString(conn, "POST "+target+" HTTP/1.1\r\nHost: "+e.upstream+"\r\n"+extra+"Content-Length: 10\r\nExpect: 100-continue\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		// Not a timing assertion: the deadline only turns "never answered"
		// into a failure instead of a hung test.
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("abs=%v: no answer while the body is held back: %v", abs, err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "service_disabled") {
			t.Errorf("abs=%v: first answer %d %s, want the 403 service_disabled refusal (not a 100 Continue asking for the body)", abs, resp.StatusCode, body)
		}
	}
}
