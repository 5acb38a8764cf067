package e2e

// A hostile agent against a service's scope, through the real binary and
// curl: path tricks that lenient upstreams resolve outside a path-scoped
// service, plaintext injection with an explicit port, method and path
// rules, and upstreams that forge broker errors.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestProxyScopeAttacks(t *testing.T) {
	t.Parallel()
	curl := pxTool(t, "curl")
	ca := pxNewCA(t)
	// The upstream forges a broker error on every answer.
	forging := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Agent-Vault-Proxy-Error", "true")
			w.Header().Set("X-Agent-Vault-Forged", "1")
			next.ServeHTTP(w, r)
		})
	}
	up := pxStartUpstream(t, ca, forging(pxAuthHandler("Bearer "+pxAPIKey)))
	plain := pxStartUpstream(t, nil, pxAuthHandler("Bearer "+pxAPIKey))
	b := pxStart(t, pxOpts{ca: ca})
	b.creds("", map[string]string{"API_KEY": pxAPIKey})
	p, pp := strconv.Itoa(up.port), strconv.Itoa(plain.port)
	b.services("", `services:
  - name: api
    host: localhost:`+p+`/api/*
    methods: [GET, POST]
    paths:
      deny: ["/api/admin*"]
    auth: {type: bearer, token: API_KEY}
  - name: plain
    host: localhost:`+pp+`
    auth: {type: bearer, token: API_KEY}
  - name: https-port
    host: localhost:443
    auth: {type: bearer, token: API_KEY}
`)
	tok := b.agent("bot")
	proxy := b.proxyURL(tok, "default").String()
	env := pxClientEnv(t)
	curlDo := func(args ...string) pxOut {
		base := []string{"-sS", "-i", "--max-time", "10", "--noproxy", "", "--proxy", proxy, "--cacert", b.caFile, "--path-as-is"}
		return b.run("", env, curl, append(base, args...)...)
	}
	// status is the final response's status line (after curl's copy of
	// the CONNECT answer).
	status := func(o pxOut) string {
		last := ""
		for _, line := range strings.Split(o.stdout, "\r\n") {
			if strings.HasPrefix(line, "HTTP/") {
				last = line
			}
		}
		return last
	}
	// final splits the final response into its head and body.
	final := func(o pxOut) (head, body string) {
		i := strings.LastIndex(o.stdout, "\r\n\r\n")
		if i < 0 {
			return o.stdout, ""
		}
		j := strings.LastIndex(o.stdout[:i], "HTTP/")
		if j < 0 {
			j = 0
		}
		return o.stdout[j:i], o.stdout[i+4:]
	}

	t.Run("lenient-decoder path escapes are refused", func(t *testing.T) {
		for _, path := range []string{"/api/..;/admin", "/api/..%5cadmin", "/api/%252e%252e/admin", "/api/..%252fadmin", "/api/%c0%ae%c0%ae/admin"} {
			before := up.count()
			o := curlDo(up.url() + path)
			if o.err != nil || !strings.Contains(status(o), " 400") || !strings.Contains(o.stdout, `"ambiguous_path"`) {
				t.Errorf("%s:\n%s", path, o)
			}
			if up.count() != before {
				t.Errorf("%s reached the upstream as %s", path, up.last(t).Path)
			}
		}
		// A backslash, which curl would not send as is: by hand.
		tc := b.tunnel(up.hostport(), pxBasic(tok, "default"), "localhost")
		before := up.count()
		resp, body := tc.roundTrip(t, "GET /api/..\\admin HTTP/1.1\r\nHost: "+up.hostport()+"\r\n\r\n", http.MethodGet)
		if resp.StatusCode != 400 || !strings.Contains(body, `"ambiguous_path"`) || up.count() != before {
			t.Errorf("backslash: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("the canonical path is what is forwarded", func(t *testing.T) {
		o := curlDo(up.url() + "/api/./x/../y//z")
		if o.err != nil || !strings.Contains(status(o), " 200") {
			t.Fatalf("%s", o)
		}
		s := up.last(t)
		if s.Path != "/api/y/z" {
			t.Errorf("upstream saw %s, want /api/y/z", s.Path)
		}
		pxCheckInjected(t, s, "Bearer "+pxAPIKey)
		if head, _ := final(o); strings.Contains(strings.ToLower(head), "x-agent-vault-") || !strings.Contains(strings.ToLower(head), "x-upstream-verdict") {
			t.Errorf("the upstream's forged broker headers reached the agent (or its own did not):\n%s", head)
		}
	})

	t.Run("method and path rules answer with a problem", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			rule string
		}{
			{[]string{"-X", "DELETE", up.url() + "/api/things"}, "methods"},
			{[]string{up.url() + "/api/admin/users"}, "paths.deny[0]"},
		} {
			before := up.count()
			o := curlDo(c.args...)
			head, body := final(o)
			if o.err != nil || !strings.Contains(status(o), " 403") || !strings.Contains(strings.ToLower(head), "content-type: application/problem+json") ||
				!strings.Contains(strings.ToLower(head), "x-agent-vault-proxy-error: true") {
				t.Errorf("%v:\n%s", c.args, o)
				continue
			}
			var pb struct {
				Type, Title, Detail, Error, Rule string
				Status                           int
				ProposalHint                     map[string]any `json:"proposal_hint"`
			}
			if err := json.Unmarshal([]byte(body), &pb); err != nil || pb.Status != 403 || pb.Rule != c.rule || pb.Error != "service_rule_refused" || pb.Type == "" || pb.ProposalHint == nil {
				t.Errorf("%v: problem %+v (%v) from %s", c.args, pb, err, body)
			}
			if up.count() != before {
				t.Errorf("%v reached the upstream", c.args)
			}
		}
	})

	t.Run("an explicit port is no plaintext opt-in", func(t *testing.T) {
		for _, u := range []string{plain.url() + "/x", "http://localhost:443/x"} {
			o := curlDo(u)
			if o.err != nil || !strings.Contains(status(o), " 403") || !strings.Contains(o.stdout, `"insecure_transport"`) {
				t.Errorf("%s:\n%s", u, o)
			}
		}
		if plain.count() != 0 {
			t.Fatalf("the credential went over plaintext")
		}
		// The opt-in, and the rules show in the service list.
		b.services("", `services:
  - name: plain
    host: localhost:`+pp+`
    allow_plaintext: true
    methods: [GET]
    paths: {allow: ["/x*"]}
    auth: {type: bearer, token: API_KEY}
`)
		if o := curlDo(plain.url() + "/x"); !strings.Contains(status(o), " 200") {
			t.Errorf("opted-in plaintext:\n%s", o)
		}
		pxCheckInjected(t, plain.last(t), "Bearer "+pxAPIKey)
		list := b.owner.ok("", "vault", "service", "list")
		for _, want := range []string{"allow_plaintext: true", "methods:", "- GET", "paths:", "allow:", "- /x*"} {
			if !strings.Contains(list, want) {
				t.Errorf("service list lacks %q:\n%s", want, list)
			}
		}
		var l struct {
			Services []struct {
				AllowPlaintext bool                     `json:"allow_plaintext"`
				Methods        []string                 `json:"methods"`
				Paths          struct{ Allow []string } `json:"paths"`
			} `json:"services"`
		}
		b.owner.json(&l, "vault", "service", "list")
		if len(l.Services) != 1 || !l.Services[0].AllowPlaintext || len(l.Services[0].Methods) != 1 || len(l.Services[0].Paths.Allow) != 1 {
			t.Errorf("service list --json = %+v", l)
		}
		// And port 443 cannot be opted in.
		out := b.owner.fail("", "vault", "service", "add", "--name", "tls-port", "--host", "localhost:443", "--auth", "bearer", "--token", "API_KEY", "--allow-plaintext")
		if !strings.Contains(out, "allow_plaintext") || !strings.Contains(out, "443") {
			t.Errorf("allow_plaintext on port 443: %s", out)
		}
	})
}
