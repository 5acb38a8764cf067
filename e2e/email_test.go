package e2e

// Email through the real binary (docs/operations.md, "Email"): with the SMTP
// variables set, `email test` delivers, an invitee receives the command
// that accepts their invite (and it works), and a proposal reaches the
// vault's members and admins with its approval link. The mail server is
// go-smtp on 127.0.0.1.

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// emMessage is one delivered message.
type emMessage struct {
	From    string
	To      []string
	Subject string
	Body    string
}

// emInbox is an SMTP server that keeps every message it accepts.
type emInbox struct {
	mu   sync.Mutex
	msgs []emMessage
	port int
}

func (b *emInbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &emSession{box: b}, nil }

type emSession struct {
	box  *emInbox
	from string
	to   []string
}

func (s *emSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *emSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == emDeadMailbox {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

// emDeadMailbox is refused by the inbox, as a mailbox that no longer exists.
const emDeadMailbox = "gone@example.test"

func (s *emSession) Reset()        { s.from, s.to = "", nil }
func (s *emSession) Logout() error { return nil }
func (s *emSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, emMessage{From: s.from, To: append([]string(nil), s.to...), Subject: subject, Body: string(body)})
	s.box.mu.Unlock()
	return nil
}

func emStartInbox(t *testing.T) *emInbox {
	t.Helper()
	box := &emInbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "inbox.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box
}

// waitFor returns the first message to rcpt whose subject holds subject.
func (b *emInbox) waitFor(t *testing.T, rcpt, subject string) emMessage {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b.mu.Lock()
		for _, m := range b.msgs {
			for _, to := range m.To {
				if to == rcpt && strings.Contains(m.Subject, subject) {
					b.mu.Unlock()
					return m
				}
			}
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t.Fatalf("no message %q to %s; the inbox holds %+v", subject, rcpt, b.msgs)
	return emMessage{}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	box := emStartInbox(t)
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), env: []string{
		"AGENT_VAULT_SMTP_HOST=127.0.0.1", "AGENT_VAULT_SMTP_PORT=" + strconv.Itoa(box.port), "AGENT_VAULT_SMTP_TLS_MODE=none",
		"AGENT_VAULT_SMTP_FROM=vault@example.test", "AGENT_VAULT_SMTP_FROM_NAME=Agent Vault Tést",
	}})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")

	// email test: to the caller, then to --to.
	out := owner.ok("", "email", "test")
	if !strings.Contains(out, "owner@example.com") {
		t.Errorf("email test printed %q", out)
	}
	m := box.waitFor(t, "owner@example.com", "Agent Vault test message")
	if m.From != "vault@example.test" || !strings.Contains(m.Body, s.url) {
		t.Errorf("test message = %+v", m)
	}
	var res struct {
		Sent bool   `json:"sent"`
		To   string `json:"to"`
	}
	owner.json(&res, "email", "test", "--to", "ops@example.test")
	if !res.Sent || res.To != "ops@example.test" {
		t.Errorf("email test --to --json = %+v", res)
	}
	box.waitFor(t, "ops@example.test", "test message")

	// An invite: the email holds the command, and the link in it works.
	var inv struct {
		Token string `json:"token"`
	}
	owner.json(&inv, "user", "invite", "bob@example.test", "--vault", "default:member")
	m = box.waitFor(t, "bob@example.test", "invitation")
	link := regexp.MustCompile(`agent-vault auth accept-invite (\S+)`).FindStringSubmatch(m.Body)
	if link == nil || !strings.HasSuffix(link[1], inv.Token) {
		t.Fatalf("invite email:\n%s", m.Body)
	}
	// The link opens the invite page in a browser too.
	if resp, err := http.Get(link[1]); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET the emailed invite link: %v %v", resp, err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(page, []byte("bob@example.test")) || !bytes.Contains(page, []byte(`id="invite-form"`)) {
			t.Errorf("the invite page:\n%s", page)
		}
	}
	bob := newCLI(t, "bob", s.url)
	if r := bob.run("bob-pass-1\nbob-pass-1\n", "auth", "accept-invite", link[1]); r.code != 0 {
		t.Fatalf("accept-invite with the emailed link:\n%s", r)
	}

	// A member whose mailbox is gone (the mail server refuses it).
	var gone struct {
		Token string `json:"token"`
	}
	owner.json(&gone, "user", "invite", emDeadMailbox, "--vault", "default:member")
	if r := newCLI(t, "gone", s.url).run("gone-pass-1\ngone-pass-1\n", "auth", "accept-invite", gone.Token); r.code != 0 {
		t.Fatalf("accept-invite:\n%s", r)
	}

	// A proposal from an agent reaches the vault's members and admins
	// (owner and bob), with a working approval link, though one member's
	// mailbox refuses it.
	tok := strings.TrimSpace(owner.ok("", "agent", "create", "mailbot", "--token-only", "--vault", "default:proxy"))
	r := call(t, "POST", s.url+"/v1/proposals", tok, `{"vault":"default","credentials":[{"action":"set","key":"STRIPE_KEY","description":"Stripe key"}],"user_message":"Needed for billing"}`)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("create proposal: %d %s", r.status, r.body)
	}
	for _, rcpt := range []string{"owner@example.com", "bob@example.test"} {
		m := box.waitFor(t, rcpt, "Approval requested in vault default")
		if !strings.Contains(m.Body, "agent:mailbot") || !strings.Contains(m.Body, "set credential STRIPE_KEY") || !strings.Contains(m.Body, "Needed for billing") {
			t.Errorf("proposal email to %s:\n%s", rcpt, m.Body)
		}
		approve := regexp.MustCompile(`(http://\S+/approve/\d+\?token=av_appr_\S+)`).FindStringSubmatch(m.Body)
		if approve == nil {
			t.Fatalf("no approval link in:\n%s", m.Body)
		}
		resp, err := http.Get(approve[1])
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET the emailed approval link: %v %v", resp, err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(page, []byte("STRIPE_KEY")) {
			t.Errorf("the approval page does not show the proposal")
		}
	}
	// The same agent's next proposal within 10 minutes is not emailed.
	r = call(t, "POST", s.url+"/v1/proposals", tok, `{"vault":"default","credentials":[{"action":"set","key":"OTHER_KEY"}]}`)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("second proposal: %d %s", r.status, r.body)
	}
	// Each recipient gets a copy of their own: no one sees the others.
	if m := box.waitFor(t, "bob@example.test", "Approval requested"); len(m.To) != 1 {
		t.Errorf("a proposal email went to %v at once", m.To)
	}
	// The links carry tokens: never in the server's log.
	if strings.Contains(s.stderr.String(), inv.Token) || strings.Contains(s.stderr.String(), "av_appr_") {
		t.Error("the server log holds an emailed token")
	}

	// Without SMTP, email test says what to set.
	_, plainOwner := ctStart(t)
	if out := plainOwner.fail("", "email", "test"); !strings.Contains(out, "AGENT_VAULT_SMTP_HOST") {
		t.Errorf("email test without SMTP: %s", out)
	}
	// Members may not send test mail.
	bob.ok("bob-pass-1\n", "auth", "login", "--email", "bob@example.test")
	if out := bob.fail("", "email", "test"); !strings.Contains(strings.ToLower(out), "owner") && !strings.Contains(out, "403") {
		t.Errorf("email test as a member: %s", out)
	}

	// A clean stop waits for every email in flight, so what the inbox
	// holds now is all that was ever sent: the second proposal is absent.
	s.stopOK()
	box.mu.Lock()
	defer box.mu.Unlock()
	for _, m := range box.msgs {
		if strings.Contains(m.Body, "OTHER_KEY") {
			t.Errorf("a second proposal within 10 minutes was emailed to %v", m.To)
		}
	}
}

// A forgotten password: the code arrives by email, sets a new password
// once, ends every session; wrong codes are counted and void the code;
// unknown addresses get the same answer and no mail; three codes an hour.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	box := emStartInbox(t)
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), env: []string{
		"AGENT_VAULT_SMTP_HOST=127.0.0.1", "AGENT_VAULT_SMTP_PORT=" + strconv.Itoa(box.port), "AGENT_VAULT_SMTP_TLS_MODE=none",
		"AGENT_VAULT_SMTP_FROM=vault@example.test",
	}})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	anon := newCLI(t, "anon", s.url)
	codeRE := regexp.MustCompile(`reset code: (\d{6})`)
	codes := func() []string {
		box.mu.Lock()
		defer box.mu.Unlock()
		var out []string
		for _, m := range box.msgs {
			if c := codeRE.FindStringSubmatch(m.Body); c != nil {
				out = append(out, c[1])
			}
		}
		return out
	}
	waitCodes := func(n int) []string {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if c := codes(); len(c) >= n {
				return c
			}
		}
		t.Fatalf("%d reset codes arrived, want %d", len(codes()), n)
		return nil
	}

	// A vault session the owner minted: a reset ends it too.
	vaultTok := strings.TrimSpace(owner.ok("", "vault", "token", "--ttl", "1h"))
	if r := call(t, "GET", s.url+"/discover", vaultTok, nil); r.status != 200 {
		t.Fatalf("the vault session before the reset: %d", r.status)
	}
	known := anon.ok("", "auth", "forgot-password", "--email", "owner@example.com")
	unknown := anon.ok("", "auth", "forgot-password", "--email", "nobody@example.com")
	if firstLine(known) != firstLine(unknown) {
		t.Errorf("the answers differ for a known and an unknown address:\n%s\n%s", known, unknown)
	}
	code := waitCodes(1)[0]
	box.mu.Lock()
	for _, m := range box.msgs {
		if len(m.To) > 0 && m.To[0] == "nobody@example.com" {
			t.Error("a reset code was mailed to an address with no account")
		}
	}
	box.mu.Unlock()

	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if out := anon.fail(wrong+"\nnew-pass-123\n", "auth", "reset-password", "--email", "owner@example.com"); !strings.Contains(out, "invalid or expired reset code") {
		t.Errorf("a wrong code: %s", out)
	}
	anon.ok(code+"\nnew-pass-123\n", "auth", "reset-password", "--email", "owner@example.com")
	// Every session ended; the new password works, the old one not.
	if out := owner.fail("", "vault", "list"); !strings.Contains(strings.ToLower(out), "log in") && !strings.Contains(out, "401") {
		t.Errorf("the owner's old session after the reset: %s", out)
	}
	if r := call(t, "GET", s.url+"/discover", vaultTok, nil); r.status != http.StatusUnauthorized {
		t.Errorf("the owner's vault session after the reset: %d, want 401", r.status)
	}
	owner.ok("new-pass-123\n", "auth", "login", "--email", "owner@example.com")
	if out := newCLI(t, "old", s.url).fail("owner-pass-1\n", "auth", "login", "--email", "owner@example.com"); !strings.Contains(strings.ToLower(out), "invalid") {
		t.Errorf("the old password: %s", out)
	}
	// A code works once.
	if out := anon.fail(code+"\nother-pass-123\n", "auth", "reset-password", "--email", "owner@example.com"); !strings.Contains(out, "invalid or expired") {
		t.Errorf("reusing the code: %s", out)
	}

	// Five wrong codes void the pending one.
	anon.ok("", "auth", "forgot-password", "--email", "owner@example.com")
	code2 := waitCodes(2)[1]
	for i := range 5 {
		w := strconv.Itoa(100000 + i)
		if w == code2 {
			w = "999999"
		}
		anon.fail(w+"\nnew-pass-456\n", "auth", "reset-password", "--email", "owner@example.com")
	}
	if out := anon.fail(code2+"\nnew-pass-456\n", "auth", "reset-password", "--email", "owner@example.com"); !strings.Contains(out, "invalid or expired") {
		t.Errorf("the right code after five wrong ones: %s", out)
	}

	// Three codes an hour: the fourth request mails nothing.
	anon.ok("", "auth", "forgot-password", "--email", "owner@example.com")
	waitCodes(3)
	anon.ok("", "auth", "forgot-password", "--email", "owner@example.com")
	// A clean stop waits for every email in flight: the inbox is now all
	// that was ever sent.
	s.stopOK()
	if n := len(codes()); n != 3 {
		t.Errorf("%d codes were mailed within the hour, want 3", n)
	}
	box.mu.Lock()
	for _, m := range box.msgs {
		if len(m.To) > 0 && m.To[0] == "nobody@example.com" {
			t.Error("a reset code was mailed to an address with no account")
		}
	}
	box.mu.Unlock()
	if strings.Contains(s.stderr.String(), code) || strings.Contains(s.stderr.String(), code2) {
		t.Error("a reset code is in the server log")
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
