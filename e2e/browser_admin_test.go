package e2e

// The console's administration pages in a real browser against the real
// binary: the first run with the setup code the server printed, the
// owner's vault, an invitation accepted by a colleague in another
// browser, a role change, the settings and instance pages. Every page is
// screenshotted (docs/screenshots with UPDATE_SCREENSHOTS=1) and passes
// the accessibility rule set of browser_a11y_test.go.

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var adSetupCodeRE = regexp.MustCompile(`setup_code=([A-Z0-9]{5}(?:-[A-Z0-9]{5}){3})`)

// adSetupCode waits for the server's first-run line and returns its code.
func adSetupCode(t *testing.T, s *server) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := adSetupCodeRE.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server printed no setup code:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserAdminFirstRunToInvite(t *testing.T) {
	t.Parallel()
	owner := brStart(t)
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	base := s.url
	code := adSetupCode(t, s)
	if !strings.Contains(s.stderr.String(), base+"/setup") {
		t.Errorf("the first-run line does not name the setup page %s/setup", base)
	}

	// / leads a fresh instance's browser to the setup page; a wrong code is refused.
	owner.do("opening the fresh instance", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#setup-form")))
	a11yCheck(t, owner, "the setup page", "")
	owner.screenshot("setup.png")
	owner.do("a wrong setup code",
		chromedp.SendKeys(chromedp.CSS("#code"), "AAAAA-BBBBB-CCCCC-DDDDD"),
		chromedp.SendKeys(chromedp.CSS("#email"), brOwnerEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), brOwnerPW),
		chromedp.SendKeys(chromedp.CSS("#confirm"), brOwnerPW),
		chromedp.Click(chromedp.CSS("#create-owner")),
		chromedp.WaitVisible(chromedp.CSS("#page-error")),
	)
	mustContain(t, "the refused setup", owner.text("#page-error"), "setup code is wrong")
	if v := brEval[string](owner, `document.querySelector('#email').value`); v != brOwnerEmail {
		t.Errorf("the refused form lost the email: %q", v)
	}
	if v := brEval[string](owner, `document.querySelector('#password').value`); v != "" {
		t.Error("the refused form filled the password back in")
	}
	owner.do("the right setup code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#password"), brOwnerPW),
		chromedp.SendKeys(chromedp.CSS("#confirm"), brOwnerPW),
		chromedp.Click(chromedp.CSS("#create-owner")),
		chromedp.WaitVisible(chromedp.CSS("#create-vault-form")),
	)
	mustContain(t, "the vaults page after setup", owner.text("#page-notice"), "owner account is ready")
	if r := call(t, http.MethodGet, base+"/setup", "", nil); r.status != http.StatusNotFound {
		t.Errorf("/setup after the owner exists: HTTP %d", r.status)
	}

	// A vault.
	owner.do("creating a vault",
		chromedp.SendKeys(chromedp.CSS("#vault-new-name"), "payments"),
		chromedp.Click(chromedp.CSS("#create-vault")),
		chromedp.WaitVisible(chromedp.CSS("#vault-name")),
	)
	mustContain(t, "the new vault", owner.text("#page-notice"), "vault is created")
	owner.do("the vaults page", chromedp.Navigate(base+"/vaults"), chromedp.WaitVisible(chromedp.CSS("#vault-list")))
	mustContain(t, "the vaults list", owner.text("#vault-list"), "payments", "default")
	a11yCheck(t, owner, "the vaults page", "vaults-narrow.png")
	owner.screenshot("vaults.png")

	// Invite a colleague: the link is shown (no SMTP on this server).
	owner.do("the members page", chromedp.Navigate(base+"/vaults/payments/members"), chromedp.WaitVisible(chromedp.CSS("#invite-form")))
	owner.do("inviting",
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "carol@example.com"),
		chromedp.Click(chromedp.CSS("#invite")),
		chromedp.WaitVisible(chromedp.CSS("#invite-link")),
	)
	link := brEval[string](owner, `document.querySelector('#invite-link').value`)
	if !strings.HasPrefix(link, base+"/invite/av_uinv_") {
		t.Fatalf("invite link %q", link)
	}
	a11yCheck(t, owner, "the members page with a new invitation", "")
	owner.screenshot("members-invite.png")

	// Carol accepts in her own browser.
	carol := brStart(t)
	carol.do("opening the invitation", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#invite-form")))
	mustContain(t, "the invitation", carol.text("main"), "carol@example.com", "payments")
	carol.do("accepting",
		chromedp.SendKeys(chromedp.CSS("#password"), "carol-pass-1"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "carol-pass-1"),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.WaitVisible(chromedp.CSS("#vault-list")),
	)
	mustContain(t, "carol's vaults", carol.text("#vault-list"), "payments", "member")
	// Carol is no owner: the instance page refuses her.
	carol.do("carol opens /instance", chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#page-error")))
	if n := brEval[int](carol, `document.querySelectorAll('#settings-form').length`); n != 0 {
		t.Error("a member sees the instance settings form")
	}

	// The owner makes carol an admin of the vault.
	owner.do("the members page again", chromedp.Navigate(base+"/vaults/payments/members"), chromedp.WaitVisible(chromedp.CSS("#members")))
	mustContain(t, "the members table", owner.text("#members"), "carol@example.com")
	if got := brEval[string](owner, `(() => { const row = [...document.querySelectorAll('#members tbody tr')].find(r => r.textContent.includes('carol@example.com')); const sel = row.querySelector('select'); sel.value = 'admin'; return sel.value; })()`); got != "admin" {
		t.Fatalf("selecting admin: %q", got)
	}
	owner.do("changing carol's role",
		chromedp.Click(chromedp.CSS(`button[aria-label="Change the role of carol@example.com"]`)),
		chromedp.WaitVisible(chromedp.CSS("#page-notice")),
	)
	mustContain(t, "after the role change", owner.text("#page-notice"), "role is changed")
	if got := brEval[string](owner, `[...document.querySelectorAll('#members tbody tr')].find(r => r.textContent.includes('carol@example.com')).querySelector('select').value`); got != "admin" {
		t.Errorf("carol's role after the change: %q", got)
	}
	a11yCheck(t, owner, "the members page", "members-narrow.png")
	owner.screenshot("members.png")

	// Vault settings, account and instance pages.
	owner.do("the vault settings", chromedp.Navigate(base+"/vaults/payments/settings"), chromedp.WaitVisible(chromedp.CSS("#policy-form")))
	a11yCheck(t, owner, "the vault settings page", "")
	owner.screenshot("vault-settings.png")
	owner.do("the account page", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	a11yCheck(t, owner, "the account page", "account-narrow.png")
	owner.screenshot("account.png")
	owner.do("the instance page", chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#settings-form")))
	mustContain(t, "the users table", owner.text("#users"), brOwnerEmail, "carol@example.com")
	mustContain(t, "every vault", owner.text("#all-vaults"), "payments", "default")
	owner.do("saving settings",
		chromedp.Clear(chromedp.CSS("#log_max_age_hours")),
		chromedp.SendKeys(chromedp.CSS("#log_max_age_hours"), "72"),
		chromedp.Click(chromedp.CSS("#save-settings")),
		chromedp.WaitVisible(chromedp.CSS("#page-notice")),
	)
	mustContain(t, "after saving", owner.text("#page-notice"), "settings are saved")
	if v := brEval[string](owner, `document.querySelector('#log_max_age_hours').value`); v != "72" {
		t.Errorf("retention after saving: %q", v)
	}
	a11yCheck(t, owner, "the instance page", "instance-narrow.png")
	owner.screenshot("instance.png")

	// Logged-out pages.
	carol.do("logging out", chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.CSS("#message")))
	for _, pg := range []struct{ path, sel, shot string }{
		{"/login", "#login-form", "login.png"},
		{"/forgot", "#forgot-form", "forgot.png"},
		{"/reset", "#reset-form", "reset.png"},
		{"/register", "#register-closed", "register-closed.png"},
	} {
		carol.do("opening "+pg.path, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.sel)))
		a11yCheck(t, carol, pg.path, "")
		carol.screenshot(pg.shot)
	}
	owner.noDialogs()
	carol.noDialogs()
}
