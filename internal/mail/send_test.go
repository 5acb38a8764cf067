package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The message every delivery test sends: non-ASCII in the display name,
// the subject and the body, and a line far longer than 76 characters.
const (
	testFromName = "Agent Vault — Zoë"
	testSubject  = "Proposition «rotate Stripe key» à approuver — vault café ✓"
	testText     = "Hello Zoë,\n\n" +
		"An agent asks for access: ✓ approve or deny it at\n" +
		"https://vault.example.com/approve?token=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" +
		".a line that starts with a dot\n" +
		"trailing space \n" +
		"a = sign and no final newline"
)

var testTo = []string{"alice@example.com", "bob@example.org"}

func TestSendDelivers(t *testing.T) {
	tests := []struct {
		name string
		mode string
		auth bool
	}{
		{"starttls with auth", TLSStartTLS, true},
		{"starttls without auth", TLSStartTLS, false},
		{"tls with auth", TLSImplicit, true},
		{"tls without auth", TLSImplicit, false},
		{"none with auth to localhost", TLSNone, true},
		{"none without auth", TLSNone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := serverOpts{mode: tt.mode}
			if tt.auth {
				opts.user, opts.pass = "vault-user", testPassword
			}
			ts := startServer(t, opts)
			c := ts.config()
			c.FromName = testFromName
			c.Username, c.Password = opts.user, opts.pass
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Send(context.Background(), testTo, testSubject, testText); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := ts.messages()
			if len(msgs) != 1 {
				t.Fatalf("the server received %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.from != "vault@example.com" {
				t.Errorf("envelope sender %q, want vault@example.com", got.from)
			}
			if !slices.Equal(got.to, testTo) {
				t.Errorf("envelope recipients %q, want %q", got.to, testTo)
			}
			if want := tt.mode != TLSNone; got.tls != want {
				t.Errorf("message arrived over TLS: %v, want %v", got.tls, want)
			}
			if sawAuth := ts.sawCommand("AUTH"); sawAuth != tt.auth {
				t.Errorf("the server saw AUTH: %v, want %v", sawAuth, tt.auth)
			}
			checkMessage(t, got.data, testTo, testSubject, testText)
		})
	}
}

// checkMessage parses data as a mail reader would and checks every header
// Send writes, and that the body decodes back to text.
func checkMessage(t *testing.T, data []byte, to []string, subject, text string) {
	t.Helper()
	checkLines(t, string(data), 998)
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, data)
	}
	h := msg.Header
	from, err := netmail.ParseAddress(h.Get("From"))
	if err != nil {
		t.Errorf("From %q: %v", h.Get("From"), err)
	} else if from.Name != testFromName || from.Address != "vault@example.com" {
		t.Errorf("From is %q <%s>, want %q <vault@example.com>", from.Name, from.Address, testFromName)
	}
	if !strings.HasPrefix(h.Get("From"), "=?utf-8?q?") {
		t.Errorf("From %q: want the display name Q-encoded", h.Get("From"))
	}
	rcpts, err := h.AddressList("To")
	if err != nil {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	var addrs []string
	for _, a := range rcpts {
		addrs = append(addrs, a.Address)
	}
	if !slices.Equal(addrs, to) {
		t.Errorf("To lists %q, want %q", addrs, to)
	}
	if got, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || got != subject {
		t.Errorf("Subject %q decodes to %q (%v), want %q", h.Get("Subject"), got, err, subject)
	}
	if date, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	} else if d := time.Since(date); d < -time.Minute || d > time.Minute {
		t.Errorf("Date %v is not now", date)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID %q, want <32 hex digits@example.com>", id)
	}
	for name, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s is %q, want %q", name, got, want)
		}
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, string(body), 76)
	decoded, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatalf("the body is not quoted-printable: %v", err)
	}
	if want := crlf(text); string(decoded) != want {
		t.Errorf("the body decodes to\n%q\nwant\n%q", decoded, want)
	}
}

func TestSendAuth(t *testing.T) {
	tests := []struct {
		name       string
		serverUser string // "" means the server offers no AUTH
		serverPass string
		reject     func(pass string) error
		wantErr    []string // substrings; nil means success
		mechs      []string // what the server offers; nil means PLAIN
	}{
		{"right credentials", "vault-user", testPassword, nil, nil, nil},
		{"LOGIN only, right credentials", "vault-user", testPassword, nil, nil, []string{"LOGIN"}},
		{"LOGIN only, wrong password", "vault-user", "the-right-one", nil,
			[]string{"refused the login", "535"}, []string{"LOGIN"}},
		{"neither PLAIN nor LOGIN", "vault-user", testPassword, nil,
			[]string{"neither PLAIN nor LOGIN", "CRAM-MD5"}, []string{"CRAM-MD5"}},
		{"wrong password", "vault-user", "the-right-one", nil,
			[]string{"refused the login", "535", "AGENT_VAULT_SMTP_USERNAME and AGENT_VAULT_SMTP_PASSWORD"}, nil},
		{"server echoes the password", "vault-user", "the-right-one",
			func(pass string) error { return errors.New("no user has the password " + pass) },
			[]string{"refused the login", "[redacted]"}, nil},
		{"server offers no AUTH", "", "", nil,
			[]string{"does not offer authentication", "unset AGENT_VAULT_SMTP_USERNAME"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{mode: TLSStartTLS, user: tt.serverUser, pass: tt.serverPass, reject: tt.reject, mechs: tt.mechs})
			c := ts.config()
			c.Username, c.Password = "vault-user", testPassword
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Send(context.Background(), testTo, "Hi", "text")
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if n := len(ts.messages()); n != 1 {
					t.Errorf("the server received %d messages, want 1", n)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded; want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			checkNoSecret(t, err)
			if ts.sawCommand("MAIL") {
				t.Error("the server saw MAIL after the login failed")
			}
		})
	}
}

// TestStartTLSRequired checks that starttls mode says nothing secret to a
// server that does not offer STARTTLS, even one that offers AUTH in clear.
func TestStartTLSRequired(t *testing.T) {
	ts := startServer(t, serverOpts{mode: TLSNone, user: "vault-user", pass: testPassword})
	c := ts.config()
	c.TLSMode = TLSStartTLS
	c.Username, c.Password = "vault-user", testPassword
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), testTo, "Hi", "text")
	if err == nil {
		t.Fatal("Send succeeded without TLS")
	}
	for _, want := range []string{"does not offer STARTTLS", "AGENT_VAULT_SMTP_TLS_MODE=tls"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	checkNoSecret(t, err)
	for _, verb := range []string{"AUTH", "MAIL", "RCPT"} {
		if ts.sawCommand(verb) {
			t.Errorf("the server saw %s", verb)
		}
	}
	if n := len(ts.messages()); n != 0 {
		t.Errorf("the server received %d messages", n)
	}
}

func TestCertificateVerification(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		trustCA    bool
		skipVerify bool
		wantErr    bool
	}{
		{"starttls, CA trusted", TLSStartTLS, true, false, false},
		{"starttls, system roots only", TLSStartTLS, false, false, true},
		{"starttls, skip verify", TLSStartTLS, false, true, false},
		{"tls, CA trusted", TLSImplicit, true, false, false},
		{"tls, system roots only", TLSImplicit, false, false, true},
		{"tls, skip verify", TLSImplicit, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{mode: tt.mode, user: "vault-user", pass: testPassword})
			c := ts.config()
			c.Username, c.Password = "vault-user", testPassword
			if !tt.trustCA {
				c.RootCAs = nil
			}
			c.SkipVerify = tt.skipVerify
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Send(context.Background(), testTo, "Hi", "text")
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Send trusted a certificate from an unknown CA")
			}
			for _, want := range []string{"certificate", "does not verify", "AGENT_VAULT_SMTP_TLS_SKIP_VERIFY"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			checkNoSecret(t, err)
			if ts.sawCommand("AUTH") || ts.sawCommand("MAIL") {
				t.Error("the server saw AUTH or MAIL over an unverified connection")
			}
		})
	}
}

// TestSendTimeout checks that a server that stops answering at any step
// cannot hold Send much past Config.Timeout.
func TestSendTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name     string
		mode     string
		server   func(t *testing.T) Config
		wantStep string
	}{
		{"silent, starttls", TLSStartTLS, silentConfig, "during greeting"},
		{"silent, none", TLSNone, silentConfig, "during greeting"},
		{"silent, tls", TLSImplicit, silentConfig, "during TLS handshake"},
		{"stalls at DATA", TLSStartTLS, func(t *testing.T) Config {
			return startServer(t, serverOpts{mode: TLSStartTLS, stall: make(chan struct{})}).config()
		}, "during DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.server(t)
			c.TLSMode = tt.mode
			c.Timeout = timeout
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = m.Send(context.Background(), testTo, "Hi", "text")
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %q is not context.DeadlineExceeded", err)
			}
			if !strings.Contains(err.Error(), tt.wantStep) {
				t.Errorf("error %q does not contain %q", err, tt.wantStep)
			}
			if elapsed < timeout-50*time.Millisecond || elapsed > timeout+2*time.Second {
				t.Errorf("Send returned after %v; want about %v", elapsed, timeout)
			}
		})
	}
}

func TestSendCanceled(t *testing.T) {
	tests := []struct {
		name        string
		mode        string
		cancelAfter time.Duration // 0 means before Send
	}{
		{"waiting for the greeting", TLSStartTLS, 100 * time.Millisecond},
		{"in the TLS handshake", TLSImplicit, 100 * time.Millisecond},
		{"before Send", TLSStartTLS, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := silentConfig(t)
			c.TLSMode = tt.mode
			c.Timeout = time.Minute
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAfter == 0 {
				cancel()
			} else {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			start := time.Now()
			err = m.Send(ctx, testTo, "Hi", "text")
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %q is not context.Canceled", err)
			}
			if elapsed := time.Since(start); elapsed > tt.cancelAfter+2*time.Second {
				t.Errorf("Send returned %v after it was canceled", elapsed-tt.cancelAfter)
			}
		})
	}
}

// TestSendMisconfigured checks the advice given for the common mistakes
// of host, port and TLS mode.
func TestSendMisconfigured(t *testing.T) {
	tests := []struct {
		name    string
		config  func(t *testing.T) Config
		wantErr []string
	}{
		{"nothing listens", func(t *testing.T) Config {
			c := silentConfig(t)
			c.Port = closedPort(t)
			return c
		}, []string{"cannot connect", "AGENT_VAULT_SMTP_HOST and AGENT_VAULT_SMTP_PORT"}},
		{"tls mode on a starttls port", func(t *testing.T) Config {
			c := startServer(t, serverOpts{mode: TLSStartTLS}).config()
			c.TLSMode = TLSImplicit
			return c
		}, []string{"did not answer in TLS", "AGENT_VAULT_SMTP_TLS_MODE=starttls"}},
		{"starttls mode on a tls port", func(t *testing.T) Config {
			c := startServer(t, serverOpts{mode: TLSImplicit}).config()
			c.TLSMode = TLSStartTLS
			c.Timeout = 300 * time.Millisecond
			return c
		}, []string{"did not answer in time", "AGENT_VAULT_SMTP_TLS_MODE=tls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.config(t))
			if err != nil {
				t.Fatal(err)
			}
			err = m.Send(context.Background(), testTo, "Hi", "text")
			if err == nil {
				t.Fatal("Send succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestRedact checks that the password is removed however it appears in an
// error, and that errors.Is still sees what the error wrapped.
func TestRedact(t *testing.T) {
	c := validConfig()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.redact(nil); err != nil {
		t.Errorf("redact(nil) = %v", err)
	}
	plain := errors.New("535 authentication failed")
	if got := m.redact(plain); got != plain {
		t.Errorf("redact changed an error without the password: %v", got)
	}
	// AUTH PLAIN's initial response: base64 of "\x00vault\x00" + testPassword.
	const authPlain = "AHZhdWx0AHMzY3JldC1QYXNzdzByZA=="
	for _, text := range []string{"bad password " + testPassword, "bad AUTH PLAIN " + authPlain} {
		err := m.redact(errors.Join(errors.New(text), context.DeadlineExceeded))
		checkNoSecret(t, err)
		if strings.Contains(err.Error(), authPlain) {
			t.Errorf("error %q contains the AUTH PLAIN response", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("redacted error %q lost context.DeadlineExceeded", err)
		}
		if errors.Unwrap(err) != nil {
			t.Errorf("redacted error %q unwraps to the original", err)
		}
	}
}

// checkNoSecret fails if err's text contains the test password.
func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q contains the password", err)
	}
}

// silentConfig is a Config for a server that never answers.
func silentConfig(t *testing.T) Config {
	return Config{Host: "127.0.0.1", Port: startSilentServer(t), From: "vault@example.com", Timeout: 5 * time.Second}
}

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}
