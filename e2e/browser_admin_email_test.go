package e2e

// The console's pages that send email, in Chromium against the real
// binary and a real SMTP server on loopback: an invitation emailed with
// the same link the page shows, the instance page's test email, and a
// forgotten password reset with the code from the email.

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserAdminEmail(t *testing.T) {
	t.Parallel()
	box := emStartInbox(t)
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), env: []string{
		"AGENT_VAULT_SMTP_HOST=127.0.0.1", "AGENT_VAULT_SMTP_PORT=" + strconv.Itoa(box.port), "AGENT_VAULT_SMTP_TLS_MODE=none",
		"AGENT_VAULT_SMTP_FROM=vault@example.test",
	}})
	register(t, newCLI(t, "owner", s.url), brOwnerEmail, brOwnerPW)
	base := s.url
	br := brStart(t)
	br.do("opening the login page", chromedp.Navigate(base+"/login?next=%2Fvaults%2Fdefault%2Fmembers"))
	br.login(brOwnerEmail, brOwnerPW, "#invite-form")

	// An invitation: emailed, and the page shows the same link.
	br.do("inviting",
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "dana@example.test"),
		chromedp.Click(chromedp.CSS("#invite")),
		chromedp.WaitVisible(chromedp.CSS("#invite-emailed")),
	)
	shown := brEval[string](br, `document.querySelector('#invite-link').value`)
	m := box.waitFor(t, "dana@example.test", "invitation")
	if shown == "" || !strings.Contains(m.Body, shown) {
		t.Errorf("the page shows %q; the email says:\n%s", shown, m.Body)
	}
	br.pageCheck("the members page after an emailed invitation", "", "")

	// The instance page's test email.
	br.do("the instance page", chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#test-email-form")))
	br.do("sending a test email",
		chromedp.SendKeys(chromedp.CSS("#test-to"), "ops@example.test"),
		chromedp.Click(chromedp.CSS("#send-test")),
		chromedp.WaitVisible(chromedp.CSS("#page-notice")),
	)
	mustContain(t, "after the test email", br.text("#page-notice"), "test email was handed")
	br.pageCheck("the instance page after a test email", "", "")
	box.waitFor(t, "ops@example.test", "test message")

	// Forgot password, in a logged-out browser: the code from the email resets it.
	anon := brStart(t)
	anon.do("the forgot page", chromedp.Navigate(base+"/forgot"), chromedp.WaitVisible(chromedp.CSS("#forgot-form")))
	anon.do("asking for a code",
		chromedp.SendKeys(chromedp.CSS("#email"), brOwnerEmail),
		chromedp.Click(chromedp.CSS("#send-code")),
		chromedp.WaitVisible(chromedp.CSS("#reset-form")),
	)
	if v := brEval[string](anon, `document.querySelector('#email').value`); v != brOwnerEmail {
		t.Errorf("the reset form's email = %q", v)
	}
	anon.pageCheck("the reset form after asking for a code", "", "")
	var code string
	codeRE := regexp.MustCompile(`reset code: (\d{6})`)
	for deadline := time.Now().Add(15 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		box.mu.Lock()
		for _, msg := range box.msgs {
			if c := codeRE.FindStringSubmatch(msg.Body); c != nil {
				code = c[1]
			}
		}
		box.mu.Unlock()
	}
	if code == "" {
		t.Fatal("no reset code arrived")
	}
	const newPW = "owner-pass-2"
	anon.do("resetting",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#password"), newPW),
		chromedp.SendKeys(chromedp.CSS("#confirm"), newPW),
		chromedp.Click(chromedp.CSS("#reset")),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	mustContain(t, "after the reset", anon.text("#page-notice"), "password is reset")
	anon.pageCheck("the login page after a reset", "", "")
	anon.login(brOwnerEmail, newPW, "#vault-list")
	br.noDialogs()
	anon.noDialogs()
}
