package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// openBlindTunnel CONNECTs to the plaintext upstream under a host no
// service matches (so the tunnel is blind), proves it carries a request,
// and returns it.
func openBlindTunnel(t *testing.T, e *env, tok string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	target := "tunnel.test:" + itoa(e.plainPort)
	auth := base64.StdEncoding.EncodeToString([]byte(tok + ":default"))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	blindGet(t, c, br, target)
	return c, br
}

func blindGet(t *testing.T, c net.Conn, br *bufio.Reader, host string) {
	t.Helper()
	if _, err := io.WriteString(c, "GET /through-the-tunnel HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := read(t, resp); resp.StatusCode != 200 || !strings.Contains(b, "/through-the-tunnel") {
		t.Fatalf("blind tunnel: %d %s", resp.StatusCode, b)
	}
}

// waitClosed reads until the proxy closes the tunnel. The deadline only
// keeps a broken build from hanging; the proxy rechecks every second.
func waitClosed(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the tunnel or stream stayed open after revocation")
	}
}

// TestBlindTunnelsHonourRevocation: a blind tunnel opened before its
// agent lost access stops carrying traffic: the proxy closes it.
func TestBlindTunnelsHonourRevocation(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		revoke func(e *env) error
	}{
		{"agent deleted", func(e *env) error { _, err := e.b.DeleteAgent(ctx, e.owner, "bot"); return err }},
		{"agent revoked", func(e *env) error { _, err := e.b.RevokeAgent(ctx, e.owner, "bot"); return err }},
		{"agent removed from the vault", func(e *env) error { _, err := e.b.RemoveVaultAgent(ctx, e.owner, "default", "bot"); return err }},
		{"vault now denies unmatched hosts", func(e *env) error {
			_, err := e.b.UpdateVaultSettings(ctx, e.owner, "default", apitype.VaultSettings{UnmatchedHostPolicy: "deny"})
			return err
		}},
		{"a service now matches the host", func(e *env) error {
			_, err := e.b.ReplaceServices(ctx, e.owner, "default", apitype.ServiceList{Services: []apitype.Service{bearer("api", "tunnel.test", "API_KEY")}}, false)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &rowSink{}
			e := newRecEnv(t, true, sink)
			e.setup(map[string]string{"API_KEY": secretValue})
			tok := e.agent("bot", "proxy")
			c, br := openBlindTunnel(t, e, tok)
			if err := tc.revoke(e); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, c, br)
			rows := sink.waitRows(t, 1)
			if r := rows[len(rows)-1]; r.ErrorCode != "tunnel_revoked" || r.Ingress != "tunnel" {
				t.Errorf("the tunnel's log row: %+v", r)
			}
		})
	}
}

// TestWebsocketsHonourRevocation: a websocket opened through the proxy
// (intercepted or absolute-form, plain or with frame substitutions) is
// closed once its agent is deleted, as its next request would be refused.
func TestWebsocketsHonourRevocation(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		abs        bool
	}{
		{"intercepted", "api.test", false},
		{"intercepted with substitutions", "other.test", false},
		{"absolute-form", "api.test", true},
		{"absolute-form with substitutions", "other.test", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			// The upstream holds the websocket open until the proxy closes it.
			e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
				_ = brw.Flush()
				_, _ = io.Copy(io.Discard, brw)
			}))
			e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"),
				apitype.Service{Name: "ws-subst", Host: "other.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
					Substitutions: []apitype.Substitution{{Key: "API_KEY", Placeholder: "__WS_KEY__", In: []string{"websocket"}}}})
			tok := e.agent("bot", "proxy")
			host := tc.host + ":" + itoa(e.upPort)
			var conn net.Conn
			var br *bufio.Reader
			target, extra := "/ws", ""
			if tc.abs {
				c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				conn, br = c, bufio.NewReader(c)
				target = "https://" + host + "/ws"
				extra = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(tok+":default")) + "\r\n"
			} else {
				tc, tbr := e.rawConnect(t, host, tok, tc.host)
				conn, br = tc, tbr
			}
			_, _ = io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+extra+"Connection: Upgrade\r\nUpgrade: websocket\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			if _, err := e.b.DeleteAgent(context.Background(), e.owner, "bot"); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, conn, br)
		})
	}
}

// Blind tunnels are rechecked together, one lookup per token: revoking
// one agent closes its tunnels and leaves another agent's open and
// working.
func TestBlindTunnelRecheckIsPerToken(t *testing.T) {
	ctx := context.Background()
	e := newRecEnv(t, true, &rowSink{})
	e.setup(map[string]string{"API_KEY": secretValue})
	tokA, tokB := e.agent("bot-a", "proxy"), e.agent("bot-b", "proxy")
	a1, brA1 := openBlindTunnel(t, e, tokA)
	a2, brA2 := openBlindTunnel(t, e, tokA)
	b, brB := openBlindTunnel(t, e, tokB)
	if _, err := e.b.RevokeAgent(ctx, e.owner, "bot-a"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, a1, brA1)
	waitClosed(t, a2, brA2)
	// The recheck that closed bot-a's tunnels also looked at bot-b's.
	blindGet(t, b, brB, "tunnel.test:"+itoa(e.plainPort))
}
