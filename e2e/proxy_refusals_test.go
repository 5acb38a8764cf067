package e2e

// What real clients print when the broker refuses: a refused CONNECT's
// status line carries the reason (Python shows it; curl -v does), and an
// HTTPS destination the proxy cannot or may not reach is answered inside
// the tunnel, so an agent trusting the broker CA reads the JSON.

import (
	"testing"
)

// pxPyRefusal prints what Python requests makes of one GET through the
// proxy: the status and body, or the exception's text.
const pxPyRefusal = `
import sys, requests
proxy, ca, url = sys.argv[1], sys.argv[2], sys.argv[3]
s = requests.Session()
s.trust_env = False
try:
    r = s.get(url, proxies={"https": proxy}, verify=ca, timeout=20)
    print("STATUS", r.status_code, r.text)
except Exception as e:
    print("EXCEPTION", e)
`

func TestProxyRefusalsAsClientsShowThem(t *testing.T) {
	t.Parallel()
	curl, py := pxTool(t, "curl"), pxPython(t)
	env := pxClientEnv(t)

	// Private ranges blocked (the default), and no upstream CA given.
	b := pxStart(t, pxOpts{noPrivate: true})
	tok := b.agent("bot")
	b.mu.Lock()
	b.tokens = append(b.tokens, tok)
	b.mu.Unlock()
	curlArgs := func(proxy string, extra ...string) []string {
		return append([]string{"-sS", "--max-time", "20", "--noproxy", "", "--proxy", proxy, "--cacert", b.caFile}, extra...)
	}

	// 1. A vault the token cannot use: refused at the CONNECT, the reason
	// in the status line.
	wrongVault := b.proxyURL(tok, "nosuch").String()
	o := b.run("", env, py, "-c", pxPyRefusal, wrongVault, b.caFile, "https://api.example.test/")
	mustContain(t, "python, wrong vault", o.stdout, `Tunnel connection failed: 403 Forbidden: vault "nosuch" not found: list your vaults with`)
	o = b.run("", env, curl, curlArgs(wrongVault, "-v", "https://api.example.test/")...)
	mustContain(t, "curl -v, wrong vault", o.stderr, `< HTTP/1.1 403 Forbidden: vault "nosuch" not found`)

	// 2. A blocked HTTPS destination: the tunnel opens, the request gets
	// the JSON.
	proxy := b.proxyURL(tok, "default").String()
	o = b.run("", env, py, "-c", pxPyRefusal, proxy, b.caFile, "https://169.254.169.254/latest/meta-data")
	mustContain(t, "python, metadata address", o.stdout, "STATUS 403", `"error":"destination_blocked"`, "AGENT_VAULT_NETWORK_ALLOWLIST")
	o = b.run("", env, curl, curlArgs(proxy, "https://169.254.169.254/latest/meta-data")...)
	mustContain(t, "curl, metadata address", o.stdout, `"error":"destination_blocked"`, "AGENT_VAULT_NETWORK_ALLOWLIST")

	// 3. An upstream whose certificate the proxy does not trust: the fix
	// names --upstream-ca-file.
	b2 := pxStart(t, pxOpts{}) // loopback allowed, no --upstream-ca-file
	up := pxStartUpstream(t, pxNewCA(t), pxAuthHandler("Bearer "+pxAPIKey))
	b2.creds("", map[string]string{"API_KEY": pxAPIKey})
	b2.services("", "services:\n  - name: private-ca\n    host: "+up.hostport()+"\n    auth: {type: bearer, token: API_KEY}\n")
	tok2 := b2.agent("bot")
	b2.mu.Lock()
	b2.tokens = append(b2.tokens, tok2)
	b2.mu.Unlock()
	proxy2 := b2.proxyURL(tok2, "default").String()
	o = b2.run("", env, curl, "-sS", "--max-time", "20", "--noproxy", "", "--proxy", proxy2, "--cacert", b2.caFile, up.url()+"/x")
	mustContain(t, "curl, untrusted upstream certificate", o.stdout, `"error":"upstream_certificate"`, "--upstream-ca-file")
	o = b2.run("", env, py, "-c", pxPyRefusal, proxy2, b2.caFile, up.url()+"/x")
	mustContain(t, "python, untrusted upstream certificate", o.stdout, "STATUS 502", "--upstream-ca-file")
	if up.count() != 0 {
		t.Errorf("the upstream with the untrusted certificate answered %d requests", up.count())
	}
}
