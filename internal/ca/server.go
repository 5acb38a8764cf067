package ca

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
)

var (
	// ErrSNIMismatch fails a handshake whose SNI names a host other than the
	// CONNECT target: the broker never presents a certificate for a host it
	// is not about to connect to.
	ErrSNIMismatch = errors.New("ca: TLS server name differs from the CONNECT host")
	// ErrNoServerName fails a handshake that has neither SNI nor a CONNECT
	// host to fall back on (ServerConfig used without TLSServer).
	ErrNoServerName = errors.New("ca: no server name to issue a certificate for")
)

// nextProtos is what the intercepting server offers over ALPN.
var nextProtos = []string{"h2", "http/1.1"}

// connectConn is the net.Conn TLSServer hands to crypto/tls: it carries the
// CONNECT host into the shared config's callbacks, which see it as
// ClientHelloInfo.Conn. Every net.Conn method is the wrapped conn's.
type connectConn struct {
	net.Conn
	host string // canonical CONNECT host; "" when invalid (err says why)
	err  error
}

// TLSServer returns the server side of an intercepted TLS connection on conn
// for a client that asked the proxy to CONNECT to connectHost (a DNS name or
// IP literal, optionally with a ":port", which is ignored).
//
// Every connection uses the one shared ServerConfig, so session tickets
// issued on one connection resume on the next. The CONNECT host does not
// travel in a per-connection config (a clone per connection would work, but
// is needless copying and easy to get wrong for resumption); it travels
// with the conn: conn is wrapped, and the shared config's callbacks read
// the host back from ClientHelloInfo.Conn. So:
//
//   - SNI equal to connectHost (case and trailing dot aside): the leaf for
//     that host is served, or the session resumes.
//   - no SNI (clients send none for IP literals): the leaf for connectHost
//     is served.
//   - SNI naming another host: the handshake fails with ErrSNIMismatch,
//     checked in GetConfigForClient, which runs before both certificate
//     selection and session resumption, so a resumed session cannot
//     bypass it either.
//
// The returned conn's NetConn is the wrapper, not conn itself.
func (m *Minter) TLSServer(conn net.Conn, connectHost string) *tls.Conn {
	cc := &connectConn{Conn: conn}
	h := connectHost
	if host, _, err := net.SplitHostPort(connectHost); err == nil {
		h = host
	}
	cc.host, cc.err = canonicalHost(h)
	return tls.Server(cc, m.serverConfig)
}

// ServerConfig returns the one shared server configuration: TLS 1.2 or
// later, ALPN offering h2 then http/1.1, leaves from GetCertificate. It is
// created once by NewMinter and must not be modified. Prefer TLSServer,
// which also enforces that SNI matches the CONNECT host; with tls.Server
// directly, certificates are chosen by SNI alone and a hello without SNI
// fails with ErrNoServerName.
func (m *Minter) ServerConfig() *tls.Config { return m.serverConfig }

func (m *Minter) newServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         append([]string(nil), nextProtos...),
		GetCertificate:     m.GetCertificate,
		GetConfigForClient: m.checkClientHello,
	}
}

// checkClientHello refuses a hello whose SNI differs from the CONNECT host.
// It returns a nil config, so the shared one (and its session ticket keys)
// stays in use.
func (m *Minter) checkClientHello(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	_, err := m.serverName(hello)
	return nil, err
}

// serverName picks the host to issue for: the SNI, which must match the
// CONNECT host when the conn came through TLSServer, or else the CONNECT
// host.
func (m *Minter) serverName(hello *tls.ClientHelloInfo) (string, error) {
	cc, viaProxy := hello.Conn.(*connectConn)
	if viaProxy && cc.err != nil {
		return "", fmt.Errorf("ca: CONNECT host: %w", cc.err)
	}
	if hello.ServerName == "" {
		if !viaProxy {
			return "", ErrNoServerName
		}
		return cc.host, nil
	}
	sni, err := canonicalHost(hello.ServerName)
	if err != nil {
		if viaProxy {
			return "", fmt.Errorf("%w: client sent %q, CONNECT host is %q", ErrSNIMismatch, hello.ServerName, cc.host)
		}
		return "", err
	}
	if viaProxy && sni != cc.host {
		return "", fmt.Errorf("%w: client sent %q, CONNECT host is %q", ErrSNIMismatch, sni, cc.host)
	}
	return sni, nil
}

// GetCertificate is the shared config's certificate callback: the leaf for
// the hello's server name (see TLSServer for how SNI and the CONNECT host
// combine).
func (m *Minter) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host, err := m.serverName(hello)
	if err != nil {
		return nil, err
	}
	return m.Leaf(host)
}
