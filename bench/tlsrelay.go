//go:build bench

package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// tlsRelay is the least work any proxy that reads the agent's requests
// must do (-tls-relay): it answers CONNECT, completes the agent's TLS
// handshake with a leaf of its own CA, opens one TLS connection to the
// upstream per agent connection (same ALPN protocol), and copies the
// decrypted bytes across in both directions. It parses no HTTP, checks
// nothing, injects nothing and pools nothing: only the two TLS sessions
// and the copying. Its ratio to direct is therefore the floor under what
// the broker proxy, which must also do those, can reach on this machine
// for every scenario whose connections are kept alive. (On a new
// connection per request it dials the upstream every time, where the
// broker reuses pooled upstream connections, so there it is no floor.)
//
// It runs in its own process (a child, child.go), so its CPU time is
// measured like the server's.
type tlsRelay struct {
	*child
	url  *url.URL // http://addr
	pool *x509.CertPool
}

// startTLSRelay starts the relay process, trusting the upstream's CA.
func startTLSRelay(tmp string, up *upstream) (*tlsRelay, error) {
	upCA := filepath.Join(tmp, "relay-upstream-ca.pem")
	if err := os.WriteFile(upCA, up.caPEM, 0o600); err != nil {
		return nil, err
	}
	caFile := filepath.Join(tmp, "relay-ca.pem")
	c, err := startChild("TLS relay", "-serve-tlsrelay", caFile, "-tlsrelay-upstream-ca", upCA)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		c.close()
		return nil, err
	}
	r := &tlsRelay{child: c, url: &url.URL{Scheme: "http", Host: c.addr}, pool: x509.NewCertPool()}
	r.pool.AppendCertsFromPEM(caPEM)
	return r, nil
}

// serveTLSRelayChild is the relay process's main: serve until stdin
// closes.
func serveTLSRelayChild(caFile, upstreamCAFile string) error {
	upPEM, err := os.ReadFile(upstreamCAFile)
	if err != nil {
		return err
	}
	upPool := x509.NewCertPool()
	if !upPool.AppendCertsFromPEM(upPEM) {
		return fmt.Errorf("%s holds no certificate", upstreamCAFile)
	}
	leaf, caPEM, err := newTestCA("127.0.0.1")
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	agentCfg := &tls.Config{Certificates: []tls.Certificate{*leaf}, NextProtos: []string{"h2", "http/1.1"}}
	sessions := tls.NewLRUClientSessionCache(256)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relayConn(c, agentCfg, upPool, sessions)
		}
	}()
	serveUntilParentGoes(ln.Addr().String())
	return ln.Close()
}

// relayConn serves one agent connection: CONNECT, the two handshakes,
// then plaintext copied both ways until either side closes.
func relayConn(c net.Conn, agentCfg *tls.Config, upPool *x509.CertPool, sessions tls.ClientSessionCache) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect || br.Buffered() > 0 {
		return
	}
	host, _, err := net.SplitHostPort(req.Host)
	if err != nil {
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	agent := tls.Server(c, agentCfg)
	if err := agent.Handshake(); err != nil {
		return
	}
	proto := agent.ConnectionState().NegotiatedProtocol
	if proto == "" {
		proto = "http/1.1"
	}
	up, err := tls.Dial("tcp", req.Host, &tls.Config{RootCAs: upPool, ServerName: host, NextProtos: []string{proto}, ClientSessionCache: sessions})
	if err != nil {
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { _ = agent.Close(); _ = up.Close() }) }
	go func() {
		_, _ = io.Copy(up, agent)
		closeBoth()
	}()
	_, _ = io.Copy(agent, up)
	closeBoth()
}
