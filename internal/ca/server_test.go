package ca

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// result is one side's view of a loopback handshake.
type result struct {
	state tls.ConnectionState
	err   error
}

// handshake runs one TLS connection over loopback: the server side is
// m.TLSServer(conn, connectHost), the client uses cfg. After the handshake
// the server writes "ok" and the client reads it, which also makes the
// client process TLS 1.3 session tickets.
func handshake(t *testing.T, m *Minter, connectHost string, cfg *tls.Config) (client, server result) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			srv <- result{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		tc := m.TLSServer(conn, connectHost)
		if err := tc.Handshake(); err != nil {
			srv <- result{err: err}
			return
		}
		_, err = tc.Write([]byte("ok"))
		srv <- result{state: tc.ConnectionState(), err: err}
		_ = tc.Close()
	}()

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(raw, cfg)
	if err := tc.Handshake(); err != nil {
		client.err = err
	} else {
		buf := make([]byte, 2)
		if _, err := io.ReadFull(tc, buf); err != nil || string(buf) != "ok" {
			client.err = errors.Join(errors.New("reading after handshake"), err)
		}
		client.state = tc.ConnectionState()
	}
	return client, <-srv
}

func clientConfig(r *Root, serverName string) *tls.Config {
	return &tls.Config{
		ServerName: serverName,
		RootCAs:    r.CertPool(),
		NextProtos: []string{"h2", "http/1.1"},
	}
}

// realClock: handshakes verify certificates against the real time.
func realMinter(t *testing.T, o MinterOptions) (*Minter, *Root) {
	t.Helper()
	r, _, err := NewRoot(newKeyring(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMinter(r, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

func TestTLSHandshakeNegotiatesH2(t *testing.T) {
	m, r := realMinter(t, MinterOptions{})
	c, s := handshake(t, m, "api.example.com", clientConfig(r, "api.example.com"))
	if c.err != nil || s.err != nil {
		t.Fatalf("client: %v; server: %v", c.err, s.err)
	}
	if c.state.NegotiatedProtocol != "h2" || s.state.NegotiatedProtocol != "h2" {
		t.Errorf("ALPN %q/%q, want h2", c.state.NegotiatedProtocol, s.state.NegotiatedProtocol)
	}
	if c.state.Version != tls.VersionTLS13 || len(c.state.VerifiedChains) != 1 {
		t.Errorf("version %x, %d verified chains", c.state.Version, len(c.state.VerifiedChains))
	}
	if got := c.state.PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "api.example.com" {
		t.Errorf("served leaf for %v", got)
	}

	cfg := clientConfig(r, "api.example.com")
	cfg.NextProtos = []string{"http/1.1"}
	cfg.MaxVersion = tls.VersionTLS12
	c, s = handshake(t, m, "api.example.com:443", cfg)
	if c.err != nil || s.err != nil {
		t.Fatalf("client: %v; server: %v", c.err, s.err)
	}
	if c.state.NegotiatedProtocol != "http/1.1" || c.state.Version != tls.VersionTLS12 {
		t.Errorf("ALPN %q version %x", c.state.NegotiatedProtocol, c.state.Version)
	}
	if st := m.Stats(); st.Mints != 1 || st.Hits != 1 {
		t.Errorf("stats %+v, want the second connection served from the cache", st)
	}

	cfg = clientConfig(r, "api.example.com")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	if c, _ := handshake(t, m, "api.example.com", cfg); c.err == nil {
		t.Error("TLS 1.1 accepted")
	}
}

func TestTLSSessionResumption(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			m, r := realMinter(t, MinterOptions{})
			cfg := clientConfig(r, "api.example.com")
			cfg.MaxVersion = v
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
			for i, wantResume := range []bool{false, true, true} {
				c, s := handshake(t, m, "api.example.com", cfg)
				if c.err != nil || s.err != nil {
					t.Fatalf("connection %d: client: %v; server: %v", i, c.err, s.err)
				}
				if c.state.DidResume != wantResume || s.state.DidResume != wantResume {
					t.Errorf("connection %d: DidResume client=%v server=%v, want %v", i, c.state.DidResume, s.state.DidResume, wantResume)
				}
			}
			if st := m.Stats(); st.Mints != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestTLSSNIMismatchFails(t *testing.T) {
	m, r := realMinter(t, MinterOptions{})
	c, s := handshake(t, m, "api.example.com", clientConfig(r, "evil.example"))
	if c.err == nil || !errors.Is(s.err, ErrSNIMismatch) {
		t.Fatalf("client: %v; server: %v, want ErrSNIMismatch", c.err, s.err)
	}
	if st := m.Stats(); st.Mints != 0 {
		t.Errorf("minted for a mismatched SNI: %+v", st)
	}

	// A session established for one host does not resume on a CONNECT to
	// another: the check runs before resumption.
	cfg := clientConfig(r, "api.example.com")
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	if c, s := handshake(t, m, "api.example.com", cfg); c.err != nil || s.err != nil {
		t.Fatalf("client: %v; server: %v", c.err, s.err)
	}
	c, s = handshake(t, m, "other.example", cfg)
	if c.err == nil || !errors.Is(s.err, ErrSNIMismatch) {
		t.Fatalf("resumption across hosts: client: %v; server: %v", c.err, s.err)
	}

	// An invalid CONNECT host fails the handshake too.
	if c, s := handshake(t, m, "bad host", clientConfig(r, "api.example.com")); c.err == nil || !errors.Is(s.err, ErrInvalidHost) {
		t.Fatalf("invalid CONNECT host: client: %v; server: %v", c.err, s.err)
	}
}

func TestTLSNoSNIUsesConnectHost(t *testing.T) {
	m, r := realMinter(t, MinterOptions{ExtraSANs: []string{"vault.local"}})
	// Clients send no SNI for an IP literal; they still verify the IP SAN.
	for _, host := range []string{"127.0.0.1", "127.0.0.1:8443"} {
		c, s := handshake(t, m, host, clientConfig(r, "127.0.0.1"))
		if c.err != nil || s.err != nil {
			t.Fatalf("%s: client: %v; server: %v", host, c.err, s.err)
		}
		if s.state.ServerName != "" {
			t.Errorf("client sent SNI %q for an IP", s.state.ServerName)
		}
	}
	c, s := handshake(t, m, "[::1]:443", clientConfig(r, "::1"))
	if c.err != nil || s.err != nil {
		t.Fatalf("::1: client: %v; server: %v", c.err, s.err)
	}
	if st := m.Stats(); st.Mints != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestGetCertificateDirect(t *testing.T) {
	m, _ := realMinter(t, MinterOptions{})
	cfg, again := m.ServerConfig(), m.ServerConfig()
	if cfg != again {
		t.Fatal("ServerConfig is not shared")
	}
	if cfg.MinVersion != tls.VersionTLS12 || len(cfg.NextProtos) != 2 || cfg.NextProtos[0] != "h2" || cfg.NextProtos[1] != "http/1.1" {
		t.Errorf("config %+v", cfg)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{Conn: a}); !errors.Is(err, ErrNoServerName) {
		t.Errorf("no SNI, no CONNECT host: err = %v", err)
	}
	c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "x.example", Conn: a})
	if err != nil || c.Leaf.DNSNames[0] != "x.example" {
		t.Errorf("by SNI: %v", err)
	}
}
