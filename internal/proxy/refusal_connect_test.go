package proxy_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// connectStatusLine sends one CONNECT and returns the raw status line,
// the headers and the body of the answer.
func connectStatusLine(t *testing.T, e *env, target, user string) (string, *http.Response, map[string]any) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auth := ""
	if user != "" {
		auth = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user)) + "\r\n"
	}
	_, _ = fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, target, auth)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	status := strings.TrimRight(line, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(line), br)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return status, resp, body
}

// A refused CONNECT says why in its status line (what clients print) and
// in its JSON body; a 407 stays a plain, kept-alive answer.
func TestConnectRefusalReason(t *testing.T) {
	e := newEnv(t, false)
	tok := e.agent("bot", "proxy")
	for _, c := range []struct {
		name, target, user string
		wantStatus         string
		wantCode           string
	}{
		{"vault the token cannot use", "api.test:443", tok + ":nosuch",
			`HTTP/1.1 403 Forbidden: vault "nosuch" not found: list your vaults with ` + "`agent-vault vault list`", "forbidden"},
		{"blocked destination, not HTTPS", "metadata.test:22", tok + ":default",
			"HTTP/1.1 403 Forbidden: ", "destination_blocked"},
		{"bad target", "api.test:99999", tok + ":default", "HTTP/1.1 400 Bad Request: invalid port in api.test:99999", "bad_request"},
		{"no credentials", "api.test:443", "", "HTTP/1.1 407 Proxy Authentication Required", "proxy_auth_required"},
	} {
		line, resp, body := connectStatusLine(t, e, c.target, c.user)
		if !strings.HasPrefix(line, c.wantStatus) || body["error"] != c.wantCode || resp.Header.Get("X-Agent-Vault-Proxy-Error") != "true" {
			t.Errorf("%s: %q, body %v; want a status line starting %q and code %s", c.name, line, body, c.wantStatus, c.wantCode)
		}
		if c.wantCode == "destination_blocked" && !strings.Contains(line, "(fix: ") {
			t.Errorf("%s: the status line %q has no fix", c.name, line)
		}
		if wantClose := resp.StatusCode != http.StatusProxyAuthRequired; resp.Close != wantClose {
			t.Errorf("%s: close=%v, want %v", c.name, resp.Close, wantClose)
		}
	}
}

// An HTTPS destination the proxy may not reach is answered inside the
// tunnel: an agent trusting the CA reads the JSON. Nothing is dialled, and
// every request on the tunnel gets the same refusal.
func TestConnectRefusalInsideTunnel(t *testing.T) {
	e := newEnv(t, false)
	tok := e.agent("bot", "proxy")
	for _, h2 := range []bool{false, true} {
		c := e.client(tok, "default", h2)
		for _, path := range []string{"/latest/meta-data", "/other"} {
			resp, err := c.Get("https://metadata.test" + path)
			if err != nil {
				t.Fatal(err)
			}
			if wantProto := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != wantProto {
				t.Errorf("HTTP/%d inside the refused tunnel, want HTTP/%d", resp.ProtoMajor, wantProto)
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || body["error"] != "destination_blocked" || !strings.Contains(fmt.Sprint(body["help"]), "AGENT_VAULT_NETWORK_ALLOWLIST") {
				t.Fatalf("%s: %d %v, want the 403 destination_blocked JSON", path, resp.StatusCode, body)
			}
		}
	}
	if e.seen.last() != nil {
		t.Fatal("a refused tunnel reached an upstream")
	}
}
