package e2e

// Secrets hygiene through the real binary: with debug logging, after
// successful, substituted and failing requests from several clients,
// neither the server's output nor any client's output holds a
// credential value (and the server's output holds no token).

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

const (
	pxHdrSecret     = "hdr_e2e_SECRET_31415926"
	pxQuerySecret   = "qry_e2e_SECRET_27182818"
	pxBodySecret    = "body_e2e_SECRET_16180339"
	pxPathSecret    = "path_e2e_SECRET_14142135"
	pxRemovedSecret = "disabled_e2e_SECRET_1732050"
)

// pxVerdictHandler reports which real values reached it, without ever
// echoing one.
func pxVerdictHandler(w http.ResponseWriter, r *http.Request) {
	body := string(pxMustReadAll(r.Body))
	v := map[string]bool{
		"header": r.Header.Get("X-Account") == "acct "+pxHdrSecret,
		"query":  r.URL.Query().Get("key") == pxQuerySecret,
		"body":   strings.Contains(body, pxBodySecret),
		"path":   strings.Contains(r.URL.Path, pxPathSecret),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func TestProxySecretsNeverLeak(t *testing.T) {
	t.Parallel()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := dead.Addr().(*net.TCPAddr).Port
	dead.Close() // nothing listens here any more: upstream_unreachable

	b, up, tok := pxSetup(t, pxOpts{args: []string{"--log-level", "debug"}}, http.HandlerFunc(pxVerdictHandler))
	b.creds("", map[string]string{"HDR_SECRET": pxHdrSecret, "QUERY_SECRET": pxQuerySecret, "BODY_SECRET": pxBodySecret, "DISABLED_KEY": pxRemovedSecret})
	p := strconv.Itoa(up.port)
	b.services("", `services:
  - name: api
    host: localhost:`+p+`
    auth: {type: bearer, token: API_KEY}
    substitutions:
      - {key: HDR_SECRET, placeholder: "__HDR__", in: [header]}
      - {key: QUERY_SECRET, placeholder: "__QUERY__", in: [query]}
      - {key: BODY_SECRET, placeholder: "__BODY__", in: [body]}
  - name: disabled
    host: 127.0.0.1:`+p+`
    auth: {type: bearer, token: DISABLED_KEY}
  - name: dead
    host: localhost:`+strconv.Itoa(deadPort)+`
    auth: {type: bearer, token: API_KEY}
`)
	b.owner.ok("", "vault", "service", "disable", "disabled")
	sess := strings.TrimSpace(b.owner.ok("", "vault", "token", "--vault", "default"))
	b.mu.Lock()
	b.tokens = append(b.tokens, sess)
	b.mu.Unlock()

	want := `{"body":true,"header":true,"path":false,"query":true}`
	// Go, over both protocols, with the scoped session and the agent token.
	for _, c := range []struct {
		tok string
		h2  bool
	}{{tok, false}, {tok, true}, {sess, true}} {
		cl := b.client(c.tok, "", c.h2)
		req, _ := http.NewRequest(http.MethodPost, up.url()+"/v1/items?key=__QUERY__", strings.NewReader(`{"secret":"__BODY__"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Account", "acct __HDR__")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := strings.TrimSpace(b.read(resp)); resp.StatusCode != 200 || body != want {
			t.Fatalf("substituted request: %d %s, want %s", resp.StatusCode, body, want)
		}
		pxCheckInjected(t, up.last(t), "Bearer "+pxAPIKey)

		// Failures: a disabled service, an upstream that is down.
		resp, err = cl.Get("https://127.0.0.1:" + p + "/x")
		if err != nil {
			t.Fatal(err)
		}
		pxBrokerErr(t, resp.StatusCode, resp.Header, b.read(resp), http.StatusForbidden, "service_disabled")
		resp, err = cl.Get("https://localhost:" + strconv.Itoa(deadPort) + "/x?key=__QUERY__")
		if err != nil {
			t.Fatal(err)
		}
		pxBrokerErr(t, resp.StatusCode, resp.Header, b.read(resp), http.StatusBadGateway, "upstream_unreachable")
	}
	// A bad token's 407.
	_, resp, body := b.connect(up.hostport(), pxBasic(tok+"x", "default"))
	b.recordClient(body)
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("bad token: %d", resp.StatusCode)
	}
	// curl, verbose: every header it sent and received is in its output.
	if curl, err := pxLookPath("curl"); err == nil {
		o := b.run("", pxClientEnv(t), curl, "-sS", "-v", "--max-time", "10", "--noproxy", "", "--proxy", b.proxyURL(tok, "default").String(),
			"--cacert", b.caFile, "-H", "X-Account: acct __HDR__", "-H", "Content-Type: application/json",
			"--data-binary", `{"secret":"__BODY__"}`, up.url()+"/v1/items?key=__QUERY__")
		if o.err != nil || strings.TrimSpace(o.stdout) != want {
			t.Errorf("curl:\n%s", o)
		}
	}
	// Python requests, printing what it sent and got.
	if py, err := pxLookPath("python3"); err == nil {
		o := b.run("", pxClientEnv(t), py, "-c", `
import sys
try:
    import requests
except ImportError:
    print("no requests module"); sys.exit(0)
s = requests.Session(); s.trust_env = False
r = s.post(sys.argv[3] + "/v1/items", params={"key": "__QUERY__"}, json={"secret": "__BODY__"},
           headers={"X-Account": "acct __HDR__"}, proxies={"https": sys.argv[1]}, verify=sys.argv[2], timeout=20)
print(r.status_code, r.text, dict(r.headers), dict(r.request.headers), r.request.url, r.request.body)
`, b.proxyURL(tok, "default").String(), b.caFile, up.url())
		if o.err != nil || !(strings.Contains(o.stdout, "200 "+want) || strings.Contains(o.stdout, "no requests module")) {
			t.Errorf("python:\n%s", o)
		}
	}

	logs := b.srv.stderr.String() + b.srv.stdout.String()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatalf("the server did not log at debug level; the check would prove little:\n%s", logs)
	}
	for _, sec := range []string{pxAPIKey, pxHdrSecret, pxQuerySecret, pxBodySecret, pxRemovedSecret, tok, sess} {
		if strings.Contains(logs, sec) {
			t.Errorf("the server's debug log contains %.10s…", sec)
		}
	}
	// (pxStart's cleanup also checks every client's output.)
}

func TestProxyPathSubstitutionNeverLogged(t *testing.T) {
	t.Parallel()
	b, up, tok := pxSetup(t, pxOpts{args: []string{"--log-level", "debug"}}, http.HandlerFunc(pxVerdictHandler))
	// Not through b.creds: this test checks the server log itself, so that
	// a known leak can be reported as a skip rather than by the cleanup.
	b.owner.ok("", "vault", "credential", "set", "PATH_SECRET="+pxPathSecret)
	b.services("", `services:
  - name: api
    host: `+up.hostport()+`
    auth: {type: bearer, token: API_KEY}
    substitutions:
      - {key: PATH_SECRET, placeholder: "__ACCOUNT__", in: [path]}
`)
	cl := b.client(tok, "default", false)
	resp, err := cl.Get(up.url() + "/accounts/__ACCOUNT__/items")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimSpace(b.read(resp))
	if resp.StatusCode != 200 || body != `{"body":false,"header":false,"path":true,"query":false}` {
		t.Fatalf("path substitution: %d %s", resp.StatusCode, body)
	}
	if s := up.last(t); s.Path != "/accounts/"+pxPathSecret+"/items" {
		t.Fatalf("upstream saw path %q", s.Path)
	}
	if strings.Contains(body, pxPathSecret) {
		t.Fatalf("the client saw the substituted value")
	}
	logs := b.srv.stderr.String() + b.srv.stdout.String()
	if i := strings.Index(logs, pxPathSecret); i >= 0 {
		line := logs[strings.LastIndex(logs[:i], "\n")+1:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		line = strings.ReplaceAll(line, pxPathSecret, "<PATH_SECRET>")
		t.Errorf("a path substitution's credential value reached the log: %s", line)
	}
}
