package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testPKI is a CA made for one test and a server certificate it signed
// for 127.0.0.1 and localhost.
type testPKI struct {
	pool *x509.CertPool // holds only the CA
	cert tls.Certificate
}

func newPKI(t testing.TB) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mail test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{pool: pool, cert: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}}
}

// serverOpts shapes a test SMTP server.
type serverOpts struct {
	mode string // TLSStartTLS offers STARTTLS, TLSImplicit listens in TLS, TLSNone has no TLS
	// user and pass, when user is set, make AUTH PLAIN offered and
	// required before MAIL.
	user, pass string
	// reject, when set, is the answer to wrong credentials; nil means
	// smtp.ErrAuthFailed.
	reject func(pass string) error
	// stall, when set, makes DATA wait for it to close.
	stall chan struct{}
	// mechs are the AUTH mechanisms offered; nil means PLAIN.
	mechs []string
}

// received is one message as the server got it.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool // the message arrived over TLS
}

// testServer is a go-smtp server on 127.0.0.1 that records what it sees.
type testServer struct {
	opts    serverOpts
	port    int
	pool    *x509.CertPool // the CA of the server's certificate; nil without TLS
	accepts atomic.Int32   // TCP connections accepted

	mu     sync.Mutex
	events []string // "AUTH user", "MAIL from", "RCPT to", in order
	msgs   []received
}

func startServer(t *testing.T, opts serverOpts) *testServer {
	t.Helper()
	ts := &testServer{opts: opts}
	srv := smtp.NewServer(ts)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.port = ln.Addr().(*net.TCPAddr).Port
	var l net.Listener = countingListener{ln, &ts.accepts}
	switch opts.mode {
	case TLSStartTLS, TLSImplicit:
		p := newPKI(t)
		ts.pool = p.pool
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{p.cert}}
		if opts.mode == TLSImplicit {
			l = tls.NewListener(l, srv.TLSConfig)
		}
	case TLSNone:
		srv.AllowInsecureAuth = true
	default:
		t.Fatalf("unknown server mode %q", opts.mode)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		if opts.stall != nil {
			close(opts.stall)
		}
		_ = srv.Close()
	})
	return ts
}

// config is a Config for this server, trusting its CA.
func (ts *testServer) config() Config {
	return Config{
		Host:     "127.0.0.1",
		Port:     ts.port,
		From:     "vault@example.com",
		FromName: "Agent Vault",
		TLSMode:  ts.opts.mode,
		RootCAs:  ts.pool,
		Timeout:  5 * time.Second,
	}
}

func (ts *testServer) record(event string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.events = append(ts.events, event)
}

// sawCommand reports whether any event starts with verb, as "MAIL".
func (ts *testServer) sawCommand(verb string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, e := range ts.events {
		if strings.HasPrefix(e, verb+" ") {
			return true
		}
	}
	return false
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// NewSession makes testServer a smtp.Backend.
func (ts *testServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{ts: ts, conn: c}, nil
}

// session is one SMTP session; after STARTTLS go-smtp starts a new one.
type session struct {
	ts     *testServer
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string {
	if s.ts.opts.user == "" {
		return nil
	}
	if s.ts.opts.mechs != nil {
		return s.ts.opts.mechs
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.ts.record("AUTH " + mech + " " + user)
		if user != s.ts.opts.user || pass != s.ts.opts.pass {
			if s.ts.opts.reject != nil {
				return s.ts.opts.reject(pass)
			}
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client): it asks for the username, then the password.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.user = string(response)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(response))
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.ts.record("MAIL " + from)
	if s.ts.opts.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.ts.record("RCPT " + to)
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.ts.opts.stall != nil {
		<-s.ts.opts.stall
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.msgs = append(s.ts.msgs, received{from: s.from, to: s.to, data: data, tls: isTLS})
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startSilentServer accepts TCP connections on 127.0.0.1 and never says
// a word, like a firewall that half-works or a TLS port spoken to in
// plain text. It returns the port.
func startSilentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}
