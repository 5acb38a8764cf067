package proxy_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/netguard"
)

func nowUTC() time.Time { return time.Now().UTC() }

func asBlocked(err error, target **netguard.BlockedError) bool { return errors.As(err, target) }

func itoa(n int) string { return strconv.Itoa(n) }

// serveRaw listens on a loopback port and runs serve on a goroutine for
// every connection, until the test ends: a plaintext upstream with flaws
// no HTTP library has.
func serveRaw(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, ln, serve)
	return ln
}

// serveOn runs serve on a goroutine for every connection ln accepts, and
// closes ln when the test ends.
func serveOn(t *testing.T, ln net.Listener, serve func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
}

// errConnectRefused is netDialTLSThroughProxy's error when the proxy
// refuses the CONNECT itself, so that a test of the TLS handshake cannot
// pass on a refusal that came before it.
var errConnectRefused = errors.New("the proxy refused the CONNECT")

// netDialTLSThroughProxy CONNECTs to target and handshakes with sni. A
// CONNECT answered with anything but 200 is errConnectRefused; a failed
// handshake is the TLS error.
func netDialTLSThroughProxy(e *env, token, target, sni string) (*tls.Conn, error) {
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte(token + ":default"))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("%w: %s", errConnectRefused, resp.Status)
	}
	tc := tls.Client(c, &tls.Config{RootCAs: e.caPool, ServerName: sni})
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
