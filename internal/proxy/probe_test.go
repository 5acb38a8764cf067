package proxy_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// doctor's probe is answered by the proxy itself after authentication,
// and leaves no row in the request log (so none in discovered hosts).
// What an agent might try with it: hide a real request behind the probe
// name (the Host header, a header, the same connection), or reach the
// probe without a token. Every real request is still logged and the
// upstream sees nothing sent to the probe.
func TestProbeNotLoggedAndHidesNothing(t *testing.T) {
	sink := &rowSink{}
	e := newRecEnv(t, true, sink)
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)

	// The probe: 200, the vault and actor, not forwarded.
	resp, err := c.Get("http://" + apitype.ProxyProbeHost + "/anything?x=1")
	if err != nil {
		t.Fatal(err)
	}
	var p apitype.ProxyProbe
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 200 || !p.OK || p.Vault != "default" || p.Actor != "agent:bot" {
		t.Fatalf("probe: %d %+v %v", resp.StatusCode, p, err)
	}
	resp.Body.Close()
	if e.seen.last() != nil {
		t.Fatal("the probe reached an upstream")
	}

	// A probe without credentials is refused like any request.
	resp, err = e.client("", "", false).Get("http://" + apitype.ProxyProbeHost + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("probe without a token: %d, want 407", resp.StatusCode)
	}

	// A real request that names the probe in its Host header goes where
	// its URL says, and is logged as such (the absolute URL wins over Host).
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET http://"+e.plainUp+"/hidden HTTP/1.1\r\nHost: "+apitype.ProxyProbeHost+"\r\nProxy-Authorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
	_, _ = io.ReadAll(conn)
	if rows := sink.waitRows(t, 1); len(rows) != 1 || rows[0].Path != "/hidden" || rows[0].Host != "plain.test" {
		t.Fatalf("a request naming the probe in its Host header: log %+v, want its row", rows)
	}

	// A real request on the same kept-alive connection as a probe, with
	// any probe-looking header, is logged; the probe before it is not.
	if _, err := c.Get("http://" + apitype.ProxyProbeHost + "/"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.plainUp+"/real", nil)
	req.Header.Set("X-Agent-Vault-Probe", "true")
	req.Header.Set("X-Agent-Vault-Proxy-Error", "true")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp)
	rows := sink.waitRows(t, 2)
	if len(rows) != 2 || rows[1].Path != "/real" || rows[1].Host != "plain.test" {
		t.Fatalf("request log after two probes and one request: %+v, want the one request", rows)
	}

	// Only the absolute-form probe is answered: a tunnel to the probe's
	// name is an ordinary CONNECT, refused (nothing resolves it) and logged.
	resp, err = e.client(tok, "default", false).Get("https://" + apitype.ProxyProbeHost + "/")
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp)
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Agent-Vault-Proxy-Error") != "true" {
		t.Fatalf("https:// to the probe's name: %d, want the broker's 502", resp.StatusCode)
	}
	rows = sink.waitRows(t, 3)
	if len(rows) != 3 || rows[2].Host != apitype.ProxyProbeHost || rows[2].Method != http.MethodConnect {
		t.Fatalf("a CONNECT to the probe's name was not logged: %+v", rows)
	}
}
