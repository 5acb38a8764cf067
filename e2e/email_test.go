package e2e

// Email through the real binary (SPEC §8, §10, §11): with the SMTP
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
	time.Sleep(time.Second)
	box.mu.Lock()
	for _, m := range box.msgs {
		if strings.Contains(m.Body, "OTHER_KEY") {
			t.Errorf("a second proposal within 10 minutes was emailed to %v", m.To)
		}
	}
	box.mu.Unlock()
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
}
