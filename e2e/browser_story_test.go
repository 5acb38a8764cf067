package e2e

// The whole story of the web console in one headless Chromium against the
// real binary, as a team admin who does not live in a terminal would live
// it: the first run with the setup code the server printed, the owner
// account, a vault, a credential through its write-only field, a service
// from the catalog, an agent whose token is shown once, `agent-vault run
// -- curl` with that token through the proxy to an HTTPS upstream (the
// credential injected, checked at the upstream), an agent's proposal
// approved in the browser, both requests in the request log, and a
// colleague invited and accepting in a second browser context. Every page
// on the way passes pageCheck (axe-core and our rule set at the desktop
// size and at 375 px, no script, no credential value) and is
// screenshotted (docs/screenshots with UPDATE_SCREENSHOTS=1).

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var storySetupCodeRE = regexp.MustCompile(`setup_code=([A-Z0-9]{5}(?:-[A-Z0-9]{5}){3})`)

// storySetupCode waits for the server's first-run line and returns its
// code, as the person at the server's terminal reads it.
func storySetupCode(t *testing.T, s *server) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := storySetupCodeRE.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server printed no setup code:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storyEnvValue is NAME's value in a snippet of NAME=value words.
func storyEnvValue(t *testing.T, snippet, name string) string {
	t.Helper()
	for _, w := range strings.Fields(snippet) {
		if v, ok := strings.CutPrefix(w, name+"="); ok {
			return v
		}
	}
	t.Fatalf("the snippet sets no %s:\n%s", name, snippet)
	return ""
}

func TestBrowserStory(t *testing.T) {
	t.Parallel()
	curl := rnTool(t, "curl")
	const secret = "sk_live_console_e2e_7b3e9a1c55"
	const secret2 = "rk_console_e2e_reports_0d4f8e"
	ca := pxNewCA(t)
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+secret))
	up2 := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+secret2))
	b := rnLaunch(t, ca) // a fresh instance: no account yet
	b.mu.Lock()
	b.secrets = append(b.secrets, secret, secret2) // the hygiene check looks for them in every log and output
	b.mu.Unlock()
	br := brStartFor(t, 12*time.Minute)
	base := b.srv.url
	clientEnv := rnCleanClientEnv(t.TempDir())
	secrets := []string{secret, secret2}

	// 1. First run: / leads to the setup page; a wrong code is refused.
	code := storySetupCode(t, b.srv)
	mustContain(t, "the first-run line", b.srv.stderr.String(), base+"/setup")
	br.do("opening the fresh instance", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#setup-form")))
	br.pageCheck("the setup page", "setup.png", "")
	br.do("a wrong setup code",
		chromedp.SendKeys(chromedp.CSS("#code"), "AAAAA-BBBBB-CCCCC-DDDDD"),
		chromedp.SendKeys(chromedp.CSS("#email"), brOwnerEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), brOwnerPW),
		chromedp.SendKeys(chromedp.CSS("#confirm"), brOwnerPW),
		chromedp.Click(chromedp.CSS("#create-owner")),
		chromedp.WaitVisible(chromedp.CSS("#page-error")),
	)
	mustContain(t, "the refused setup", br.text("#page-error"), "setup code is wrong")
	if v := brEval[string](br, `document.querySelector('#email').value`); v != brOwnerEmail {
		t.Errorf("the refused form lost the email: %q", v)
	}
	if v := brEval[string](br, `document.querySelector('#password').value + document.querySelector('#code').value`); v != "" {
		t.Error("the refused form filled the password or the code back in")
	}
	br.pageCheck("the refused setup page", "", "")

	// 2. The owner account, with the code from the server's terminal.
	br.do("the right setup code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#password"), brOwnerPW),
		chromedp.SendKeys(chromedp.CSS("#confirm"), brOwnerPW),
		chromedp.Click(chromedp.CSS("#create-owner")),
		chromedp.WaitVisible(chromedp.CSS("#create-vault-form")),
	)
	mustContain(t, "the vaults page after setup", br.text("#page-notice"), "owner account is ready")
	if r := call(t, http.MethodGet, base+"/setup", "", nil); r.status != http.StatusNotFound {
		t.Errorf("/setup after the owner exists: HTTP %d", r.status)
	}

	// 3. A vault.
	br.do("creating a vault",
		chromedp.SendKeys(chromedp.CSS("#vault-new-name"), "payments"),
		chromedp.Click(chromedp.CSS("#create-vault")),
		chromedp.WaitVisible(chromedp.CSS("#vault-name")),
	)
	mustContain(t, "the new vault", br.text("#page-notice"), "vault is created")
	br.do("the vaults page", chromedp.Navigate(base+"/vaults"), chromedp.WaitVisible(chromedp.CSS("#vault-list")))
	mustContain(t, "the vaults list", br.text("#vault-list"), "payments", "default")
	br.pageCheck("the vaults page", "vaults.png", "vaults-narrow.png")
	vault := base + "/vaults/payments"

	// 4. A credential through the write-only field; the empty page says what to do.
	br.do("opening the credentials page", chromedp.Navigate(vault+"/credentials"), chromedp.WaitVisible(chromedp.CSS("#credential-form")))
	mustContain(t, "the empty credentials page", br.text("#no-credentials"), "Add the first one below")
	br.pageCheck("the empty credentials page", "console-credentials-empty.png", "")
	br.do("adding a credential",
		chromedp.SendKeys(chromedp.CSS("#cred-key"), "STRIPE_SECRET_KEY"),
		chromedp.SendKeys(chromedp.CSS("#cred-value"), secret),
		chromedp.Click(chromedp.CSS("#save-credential")),
	)
	br.waitFor("adding a credential", "#credentials")
	mustContain(t, "the credentials page", br.text("main"), "The credential was saved", "STRIPE_SECRET_KEY")
	if v := brEval[string](br, `document.querySelector('#cred-value').value`); v != "" {
		t.Error("the value field was filled back in")
	}
	br.pageCheck("the credentials page", "console-credentials.png", "console-credentials-375.png", secrets...)

	// 5. A service from the catalog, searched without script, pointed at the test upstream.
	br.do("searching the catalog",
		chromedp.Navigate(vault+"/services"), chromedp.WaitVisible(chromedp.CSS("#no-services")),
		chromedp.Click(chromedp.CSS("#from-catalog")), chromedp.WaitVisible(chromedp.CSS("#catalog")),
		chromedp.SendKeys(chromedp.CSS("#catalog-q"), "stripe"),
		chromedp.Click(chromedp.CSS("#catalog-search")),
	)
	br.waitFor("searching the catalog", `#catalog-q[value="stripe"]`)
	if n := brEval[int](br, `document.querySelectorAll('#catalog li').length`); n != 1 {
		t.Errorf("the search for stripe lists %d entries", n)
	}
	br.pageCheck("the catalog", "console-catalog.png", "")
	br.do("adding stripe", chromedp.Click(chromedp.CSS("#cat-stripe a.button")))
	br.waitFor("adding stripe", "#service-form")
	if got := brEval[string](br, `document.querySelector('#svc-token').value`); got != "STRIPE_SECRET_KEY" {
		t.Errorf("the catalog form names credential %q", got)
	}
	// A wrong host: the error is next to its field, what was typed is kept.
	br.do("a wrong host", chromedp.SetValue(chromedp.CSS("#svc-host"), "not a host"), chromedp.Click(chromedp.CSS("#save-service")))
	br.waitFor("a wrong host", "#err-host")
	if got := brEval[string](br, `document.querySelector('#svc-host').getAttribute('aria-describedby') + ' ' + document.querySelector('#svc-token').value`); got != "err-host STRIPE_SECRET_KEY" {
		t.Errorf("the refused form: %q, want the host's error described and the credential kept", got)
	}
	br.pageCheck("the service form with an error", "", "")
	br.do("pointing the service at the test upstream", chromedp.SetValue(chromedp.CSS("#svc-host"), up.hostport()))
	br.pageCheck("the service form", "console-service-form.png", "")
	br.do("saving the service", chromedp.Click(chromedp.CSS("#save-service")))
	br.waitFor("saving the service", "#services")
	mustContain(t, "the services page", br.text("#services"), "stripe", up.hostport(), "STRIPE_SECRET_KEY", "enabled")
	br.pageCheck("the services page", "console-services.png", "", secrets...)

	// 6. An agent: its token and ready-to-copy lines are on the answer page, once.
	br.do("creating an agent",
		chromedp.Navigate(vault+"/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-form")),
		chromedp.SendKeys(chromedp.CSS("#agent-name"), "web-bot"),
		chromedp.Click(chromedp.CSS("#create-agent")),
	)
	br.waitFor("creating an agent", "#token")
	tok := brEval[string](br, `document.querySelector('#token').value`)
	if !strings.HasPrefix(tok, "av_agt_") {
		t.Fatalf("the token page shows %q", tok)
	}
	runSnippet := brEval[string](br, `document.querySelector('#run-snippet').value`)
	mustContain(t, "the snippets", runSnippet+brEval[string](br, `document.querySelector('#env-snippet').value`),
		"HTTPS_PROXY=http://"+tok+":payments@", "AGENT_VAULT_TOKEN="+tok, "AGENT_VAULT_VAULT=payments", "agent-vault run --")
	br.pageCheck("the agent's token page", "console-agent-token.png", "", secrets...)
	br.do("back to the agents", chromedp.Click(chromedp.CSS("#token-done")))
	br.waitFor("back to the agents", "#agents")
	if strings.Contains(brEval[string](br, `document.documentElement.outerHTML`), tok) {
		t.Error("the agents page shows the token again")
	}
	br.pageCheck("the agents page", "console-agents.png", "", secrets...)

	// 7. `agent-vault run -- curl` as the run snippet says: the upstream
	// gets the credential, the agent never saw it.
	runEnv := append([]string{"AGENT_VAULT_VAULT=" + storyEnvValue(t, runSnippet, "AGENT_VAULT_VAULT")}, clientEnv...)
	if got := storyEnvValue(t, runSnippet, "AGENT_VAULT_ADDR"); got != base {
		t.Errorf("the run snippet's AGENT_VAULT_ADDR is %q, want %q", got, base)
	}
	before := up.count()
	r := b.agentRun(storyEnvValue(t, runSnippet, "AGENT_VAULT_TOKEN"), runEnv, "run", "--", curl, "-sS", "--max-time", "20", "https://"+up.hostport()+"/v1/charges")
	if r.code != 0 || r.stdout != "authorized GET /v1/charges\n" {
		t.Fatalf("curl under run with the token from the page:\n%s", r)
	}
	up.checkAuth(t, before, "Bearer "+secret)

	// 8. The agent proposes a second service; the owner approves it in the
	// browser, giving the value.
	created := brPropose(t, base, tok, map[string]any{
		"vault": "payments",
		"services": []map[string]any{{"action": "set", "name": "reports", "host": up2.hostport(),
			"auth": map[string]any{"type": "bearer", "token": "REPORTS_KEY"}}},
		"credentials":  []map[string]any{{"action": "set", "key": "REPORTS_KEY", "description": "read-only reports key"}},
		"user_message": "I need the reports API for the monthly summary.",
	})
	br.do("opening the proposals", chromedp.Navigate(base+"/proposals?vault=payments"), chromedp.WaitVisible(chromedp.CSS("#proposal-list")))
	br.pageCheck("the proposals list", "console-proposals.png", "")
	br.do("opening the proposal", chromedp.Click(chromedp.CSS(`#proposal-list a[href="/proposals/`+strconv.FormatInt(created.ID, 10)+`"]`)))
	br.waitFor("opening the proposal", "#approve-form")
	mustContain(t, "the proposal", br.text("main"), "reports", up2.hostport(), "REPORTS_KEY", "monthly summary")
	br.pageCheck("the proposal", "console-proposal.png", "", secrets...)
	br.do("allowing", chromedp.SendKeys(chromedp.CSS("#value-REPORTS_KEY"), secret2), chromedp.Click(chromedp.CSS("#allow")))
	br.waitFor("allowing", "#applied")
	br.pageCheck("the approval's result", "console-proposal-applied.png", "", secrets...)
	if p := brPoll(t, base, tok, created.ID); p.Status != "applied" {
		t.Fatalf("the agent's poll sees %q", p.Status)
	}
	before2 := up2.count()
	r = b.agentRun(tok, runEnv, "run", "--", curl, "-sS", "--max-time", "20", "https://"+up2.hostport()+"/v1/reports")
	if r.code != 0 || r.stdout != "authorized GET /v1/reports\n" {
		t.Fatalf("curl after the approval:\n%s", r)
	}
	up2.checkAuth(t, before2, "Bearer "+secret2)

	// 9. The request log shows both requests (it is written in batches:
	// reload until they are in).
	deadline := time.Now().Add(20 * time.Second)
	for {
		br.do("opening the request log", chromedp.Navigate(vault+"/logs"), chromedp.WaitVisible(chromedp.CSS("#log-filters")))
		txt := brEval[string](br, `document.querySelector('main').innerText`)
		if strings.Contains(txt, "/v1/charges") && strings.Contains(txt, "/v1/reports") {
			mustContain(t, "the request log", txt, "web-bot", "stripe", "reports", "200")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request log lacks the two requests:\n%s", txt)
		}
		time.Sleep(300 * time.Millisecond)
	}
	br.pageCheck("the request log", "console-logs.png", "", secrets...)
	br.do("filtering the log", chromedp.SendKeys(chromedp.CSS("#f-service"), "reports"), chromedp.Click(chromedp.CSS("#apply-filters")))
	br.waitFor("filtering the log", `#f-service[value="reports"]`)
	if txt := br.text("#logs"); strings.Contains(txt, "/v1/charges") || !strings.Contains(txt, "/v1/reports") {
		t.Errorf("the service filter shows:\n%s", txt)
	}

	// 10. Revealing asks for the password again; a wrong one shows nothing.
	br.do("opening reveal", chromedp.Navigate(vault+"/credentials/STRIPE_SECRET_KEY/reveal"), chromedp.WaitVisible(chromedp.CSS("#reveal-form")))
	br.pageCheck("the reveal page", "console-reveal.png", "", secrets...)
	br.do("a wrong password", chromedp.SendKeys(chromedp.CSS("#reveal-password"), "not-my-password"), chromedp.Click(chromedp.CSS("#reveal")))
	br.waitFor("a wrong password", "#page-error")
	if strings.Contains(brEval[string](br, `document.documentElement.outerHTML`), secret) {
		t.Error("a wrong password revealed the value")
	}
	br.do("the right password", chromedp.SendKeys(chromedp.CSS("#reveal-password"), brOwnerPW), chromedp.Click(chromedp.CSS("#reveal")))
	br.waitFor("the right password", "#revealed")
	if got := brEval[string](br, `document.querySelector('#revealed').value`); got != secret {
		t.Errorf("revealed %q", got)
	}
	br.pageCheck("the revealed value", "", "", secret2) // no screenshot: it shows a value

	// 11. Deleting a credential in use asks first and names the service.
	br.do("asking to delete the credential",
		chromedp.Navigate(vault+"/credentials"), chromedp.WaitVisible(chromedp.CSS("#credentials")),
		chromedp.Click(chromedp.CSS(`a[href="/vaults/payments/credentials/STRIPE_SECRET_KEY/delete"]`)),
	)
	br.waitFor("asking to delete the credential", "#confirm-form")
	mustContain(t, "the confirmation", br.text("main"), "STRIPE_SECRET_KEY", "stripe")
	br.pageCheck("the confirmation page", "console-confirm.png", "", secrets...)

	// 12. The services as YAML, a vault session, the vault's overview.
	br.do("opening the YAML editor", chromedp.Navigate(vault+"/services/yaml"), chromedp.WaitVisible(chromedp.CSS("#yaml-form")))
	mustContain(t, "the YAML", brEval[string](br, `document.querySelector('#yaml').value`), "name: stripe", "name: reports", "token: REPORTS_KEY")
	br.pageCheck("the YAML editor", "console-services-yaml.png", "", secrets...)
	br.do("minting a vault session",
		chromedp.Navigate(vault+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#session-form")),
		chromedp.SendKeys(chromedp.CSS("#session-label"), "nightly CI"),
		chromedp.Click(chromedp.CSS("#mint-session")),
	)
	br.waitFor("minting a vault session", "#token")
	br.pageCheck("the vault session's token page", "", "", secrets...)
	br.do("back to the sessions", chromedp.Click(chromedp.CSS("#token-done")))
	br.waitFor("back to the sessions", "#sessions")
	br.pageCheck("the vault sessions", "console-sessions.png", "", secrets...)
	br.do("the vault's overview", chromedp.Navigate(vault), chromedp.WaitVisible(chromedp.CSS("#services")))
	mustContain(t, "the overview", br.text("main"), "stripe", "reports", "STRIPE_SECRET_KEY", "REPORTS_KEY")
	br.pageCheck("the vault's overview", "vault-page.png", "", secrets...)

	// 13. A colleague: invited (the link is shown; this server has no
	// SMTP), accepting in her own browser context.
	br.do("the members page", chromedp.Navigate(vault+"/members"), chromedp.WaitVisible(chromedp.CSS("#invite-form")))
	br.do("inviting",
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "carol@example.com"),
		chromedp.Click(chromedp.CSS("#invite")),
		chromedp.WaitVisible(chromedp.CSS("#invite-link")),
	)
	link := brEval[string](br, `document.querySelector('#invite-link').value`)
	if !strings.HasPrefix(link, base+"/invite/av_uinv_") {
		t.Fatalf("invite link %q", link)
	}
	br.pageCheck("the members page with a new invitation", "members-invite.png", "")
	carol := br.otherContext()
	carol.do("opening the invitation", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#invite-form")))
	mustContain(t, "the invitation", carol.text("main"), "carol@example.com", "payments")
	carol.pageCheck("the invitation page", "invite.png", "")
	carol.do("accepting",
		chromedp.SendKeys(chromedp.CSS("#password"), "carol-pass-1"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "carol-pass-1"),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.WaitVisible(chromedp.CSS("#vault-list")),
	)
	mustContain(t, "carol's vaults", carol.text("#vault-list"), "payments", "member")
	carol.pageCheck("carol's vaults", "", "")
	// Carol is no owner: the instance page refuses her.
	carol.do("carol opens /instance", chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#page-error")))
	if n := brEval[int](carol, `document.querySelectorAll('#settings-form').length`); n != 0 {
		t.Error("a member sees the instance settings form")
	}
	carol.pageCheck("the refused instance page", "instance-refused.png", "")
	// The owner's members page lists her; the owner makes her an admin.
	br.do("the members page again", chromedp.Navigate(vault+"/members"), chromedp.WaitVisible(chromedp.CSS("#members")))
	mustContain(t, "the members table", br.text("#members"), "carol@example.com")
	if got := brEval[string](br, `(() => { const row = [...document.querySelectorAll('#members tbody tr')].find(r => r.textContent.includes('carol@example.com')); const sel = row.querySelector('select'); sel.value = 'admin'; return sel.value; })()`); got != "admin" {
		t.Fatalf("selecting admin: %q", got)
	}
	br.do("changing carol's role",
		chromedp.Click(chromedp.CSS(`button[aria-label="Change the role of carol@example.com"]`)),
		chromedp.WaitVisible(chromedp.CSS("#page-notice")),
	)
	mustContain(t, "after the role change", br.text("#page-notice"), "role is changed")
	if got := brEval[string](br, `[...document.querySelectorAll('#members tbody tr')].find(r => r.textContent.includes('carol@example.com')).querySelector('select').value`); got != "admin" {
		t.Errorf("carol's role after the change: %q", got)
	}
	br.pageCheck("the members page", "members.png", "members-narrow.png")

	// 14. Vault settings, account and instance pages.
	br.do("the vault settings", chromedp.Navigate(vault+"/settings"), chromedp.WaitVisible(chromedp.CSS("#policy-form")))
	br.pageCheck("the vault settings page", "vault-settings.png", "")
	br.do("the account page", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	br.pageCheck("the account page", "account.png", "account-narrow.png")
	br.do("the instance page", chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#settings-form")))
	mustContain(t, "the users table", br.text("#users"), brOwnerEmail, "carol@example.com")
	mustContain(t, "every vault", br.text("#all-vaults"), "payments", "default")
	br.do("saving settings",
		chromedp.Clear(chromedp.CSS("#log_max_age_hours")),
		chromedp.SendKeys(chromedp.CSS("#log_max_age_hours"), "72"),
		chromedp.Click(chromedp.CSS("#save-settings")),
		chromedp.WaitVisible(chromedp.CSS("#page-notice")),
	)
	mustContain(t, "after saving", br.text("#page-notice"), "settings are saved")
	if v := brEval[string](br, `document.querySelector('#log_max_age_hours').value`); v != "72" {
		t.Errorf("retention after saving: %q", v)
	}
	br.pageCheck("the instance page", "instance.png", "instance-narrow.png")

	// 15. The logged-out pages, in carol's browser.
	carol.do("the logout page", chromedp.Navigate(base+"/logout"), chromedp.WaitVisible(chromedp.CSS("#logout-form")))
	carol.pageCheck("the logout page", "logout.png", "")
	carol.do("logging out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#message")))
	carol.pageCheck("the logged-out message", "", "")
	for _, pg := range []struct{ path, sel, shot string }{
		{"/login", "#login-form", "login.png"},
		{"/forgot", "#forgot-form", "forgot.png"},
		{"/reset", "#reset-form", "reset.png"},
		{"/register", "#register-closed", "register-closed.png"},
	} {
		carol.do("opening "+pg.path, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.sel)))
		carol.pageCheck(pg.path, pg.shot, "")
	}
	// Registration opened by the owner: the form.
	br.do("opening registration",
		chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#settings-form")),
		chromedp.Click(chromedp.CSS("#invite_only")),
		chromedp.Click(chromedp.CSS("#save-settings")),
		chromedp.WaitVisible(chromedp.CSS("#page-notice")),
	)
	carol.do("the open registration page", chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#register-form")))
	carol.pageCheck("/register when open", "register.png", "")
	br.noDialogs()
	carol.noDialogs()
}
