package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pxUndiciScript fetches through undici's ProxyAgent, trusting the broker
// CA only. undici is installed by scripts/test.sh into e2e/.node.
const pxUndiciScript = `
const { ProxyAgent, fetch } = require('undici');
const fs = require('fs');
const [proxy, auth, ca, url] = process.argv.slice(2);
const agent = new ProxyAgent({ uri: proxy, token: auth, requestTls: { ca: fs.readFileSync(ca) } });
(async () => {
  const r = await fetch(url, { dispatcher: agent });
  console.log('GET ' + r.status + ' ' + (await r.text()));
  const p = await fetch(url.replace('/models', '/chat'), { dispatcher: agent, method: 'POST', body: '{"prompt":"hi from undici"}', headers: { 'content-type': 'application/json' } });
  console.log('POST ' + p.status + ' ' + (await p.text()));
})().catch(e => { console.error(String(e && e.cause || e)); process.exit(1); });
`

func TestProxyNodeUndiciProxyAgent(t *testing.T) {
	t.Parallel()
	node := pxTool(t, "node")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	modules := filepath.Join(root, "e2e", ".node", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "undici")); err != nil {
		t.Skip("undici is not installed (scripts/test.sh installs it with npm into e2e/.node)")
	}
	b, up, tok := pxBearerSetup(t)
	dir := t.TempDir()
	script := pxWriteFile(t, dir, "undici.js", pxUndiciScript)
	before := up.count()
	url := "https://localhost:" + strconv.Itoa(up.port) + "/models"
	o := b.run(dir, pxClientEnv(t, "NODE_PATH="+modules), node, script, "http://"+b.proxyAddr, pxBasic(tok, "default"), b.caFile, url)
	if o.err != nil {
		t.Fatalf("node (undici) failed:\n%s", o)
	}
	if !strings.Contains(o.stdout, "GET 200 authorized GET /models") || !strings.Contains(o.stdout, "POST 200 authorized POST /chat") {
		t.Fatalf("undici did not get the upstream's answers:\n%s", o)
	}
	reqs := up.requests()[before:]
	if len(reqs) != 2 {
		t.Fatalf("upstream got %d requests, want 2", len(reqs))
	}
	for _, s := range reqs {
		pxCheckInjected(t, s, "Bearer "+pxAPIKey)
	}
}
