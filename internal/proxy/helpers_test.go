package proxy_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/netguard"
)

func nowUTC() time.Time { return time.Now().UTC() }

func asBlocked(err error, target **netguard.BlockedError) bool { return errors.As(err, target) }

func itoa(n int) string { return strconv.Itoa(n) }

// netDialTLSThroughProxy CONNECTs to target and handshakes with sni.
func netDialTLSThroughProxy(e *env, token, target, sni string) (*tls.Conn, error) {
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		return nil, err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(token + ":default"))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	tc := tls.Client(c, &tls.Config{RootCAs: e.caPool, ServerName: sni})
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
