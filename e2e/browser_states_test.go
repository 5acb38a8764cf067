package e2e

// The console's pages in the states the story does not pass through,
// each checked by pageCheck (axe-core and our rule set at the desktop
// size and at 375 px, no script, no credential value): the YAML editor
// with an error, a service's edit form, the confirmation pages of an
// agent and a vault session, the account page after a wrong password,
// the members page asking to confirm a removal, a plain member's
// read-only members and settings pages, refused forms (each keeping what
// was typed, never a value), empty results, a disabled service, a
// mistyped address, and the instance page's invitation and refusal.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserConsoleStates(t *testing.T) {
	t.Parallel()
	const secret = "sk_states_e2e_5c1f9a7d"
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	register(t, newCLI(t, "owner", s.url), brOwnerEmail, brOwnerPW)
	base, vault := s.url, s.url+"/vaults/default"
	br := brStartFor(t, 8*time.Minute)
	br.do("opening the credentials page", chromedp.Navigate(base+"/login?next=%2Fvaults%2Fdefault%2Fcredentials"))
	br.login(brOwnerEmail, brOwnerPW, "#credential-form")
	br.do("adding a credential",
		chromedp.SendKeys(chromedp.CSS("#cred-key"), "API_KEY"),
		chromedp.SendKeys(chromedp.CSS("#cred-value"), secret),
		chromedp.Click(chromedp.CSS("#save-credential")),
	)
	br.waitFor("adding a credential", "#credentials")

	// The YAML editor with an error: said under the editor, what was typed kept.
	br.do("opening the YAML editor", chromedp.Navigate(vault+"/services/yaml"), chromedp.WaitVisible(chromedp.CSS("#yaml-form")))
	const bad = "services:\n  - name: one\n    hots: api.example.com\n"
	br.do("saving a wrong field", chromedp.SetValue(chromedp.CSS("#yaml"), bad), chromedp.Click(chromedp.CSS("#save-yaml")))
	br.waitFor("saving a wrong field", "#yaml-error")
	mustContain(t, "the YAML error", br.text("#yaml-error"), "Line 3", "hots")
	if got := brEval[string](br, `document.querySelector('#yaml').value + '|' + document.querySelector('#yaml').getAttribute('aria-describedby')`); got != bad+"|yaml-error" {
		t.Errorf("the refused editor holds %q", got)
	}
	br.pageCheck("the YAML editor with an error", "", "", secret)

	// A service for a discovered host, then its edit form.
	br.do("the service form for a host", chromedp.Navigate(vault+"/services/new?host=api.example.com"), chromedp.WaitVisible(chromedp.CSS("#service-form")))
	name := brEval[string](br, `document.querySelector('#svc-name').value`)
	if name == "" {
		t.Fatal("no name proposed for the host")
	}
	br.do("saving the service", chromedp.SendKeys(chromedp.CSS("#svc-token"), "API_KEY"), chromedp.Click(chromedp.CSS("#save-service")))
	br.waitFor("saving the service", "#services")
	br.do("the edit form", chromedp.Navigate(vault+"/services/"+name+"/edit"), chromedp.WaitVisible(chromedp.CSS("#service-form")))
	if got := brEval[string](br, `document.querySelector('#svc-host').value`); got != "api.example.com" {
		t.Errorf("the edit form's host: %q", got)
	}
	br.pageCheck("the service's edit form", "", "", secret)

	// The confirmation pages of an agent's rotation and a vault session's revocation.
	br.do("creating an agent",
		chromedp.Navigate(vault+"/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-form")),
		chromedp.SendKeys(chromedp.CSS("#agent-name"), "states-bot"),
		chromedp.Click(chromedp.CSS("#create-agent")),
	)
	br.waitFor("creating an agent", "#token")
	br.do("the rotate confirmation", chromedp.Navigate(vault+"/agents/states-bot/rotate"), chromedp.WaitVisible(chromedp.CSS("#confirm-form")))
	br.pageCheck("the rotate confirmation", "", "", secret)
	br.do("minting a vault session",
		chromedp.Navigate(vault+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#session-form")),
		chromedp.Click(chromedp.CSS("#mint-session")),
	)
	br.waitFor("minting a vault session", "#token")
	br.do("back to the sessions", chromedp.Click(chromedp.CSS("#token-done")))
	br.waitFor("back to the sessions", "#sessions")
	br.do("the revoke confirmation", chromedp.Click(chromedp.CSS(`#sessions a[href$="/revoke"]`)))
	br.waitFor("the revoke confirmation", "#confirm-form")
	br.pageCheck("the session's revoke confirmation", "", "", secret)

	// The account page after a wrong current password: nothing kept in the password fields.
	br.do("a wrong current password",
		chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#password-form")),
		chromedp.SendKeys(chromedp.CSS("#current_password"), "not-my-password"),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "brand-new-pass-1"),
		chromedp.SendKeys(chromedp.CSS("#confirm_password"), "brand-new-pass-1"),
		chromedp.Click(chromedp.CSS("#change-password")),
	)
	br.waitFor("a wrong current password", "#page-error")
	if got := brEval[string](br, `['#current_password','#new_password','#confirm_password'].map(s => document.querySelector(s).value).join('')`); got != "" {
		t.Error("the refused password form filled a password back in")
	}
	br.pageCheck("the account page with an error", "", "")

	// A colleague, invited and accepting; the owner's Remove asks first.
	br.do("inviting",
		chromedp.Navigate(vault+"/members"), chromedp.WaitVisible(chromedp.CSS("#invite-form")),
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "dana@example.com"),
		chromedp.Click(chromedp.CSS("#invite")),
		chromedp.WaitVisible(chromedp.CSS("#invite-link")),
	)
	link := brEval[string](br, `document.querySelector('#invite-link').value`)
	dana := br.otherContext()
	dana.do("accepting",
		chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#invite-form")),
		chromedp.SendKeys(chromedp.CSS("#password"), "dana-pass-1"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "dana-pass-1"),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.WaitVisible(chromedp.CSS("#vault-list")),
	)
	dana.do("dana's members page", chromedp.Navigate(vault+"/members"), chromedp.WaitVisible(chromedp.CSS("#members-readonly")))
	if n := brEval[int](dana, `document.querySelectorAll('#invite-form').length`); n != 0 {
		t.Error("a member is offered the invite form")
	}
	dana.pageCheck("a member's members page", "", "")
	dana.do("dana's vault settings", chromedp.Navigate(vault+"/settings"), chromedp.WaitVisible(chromedp.CSS("#policy-readonly")))
	if n := brEval[int](dana, `document.querySelectorAll('#rename-form, #delete-vault-form').length`); n != 0 {
		t.Error("a member is offered the rename or delete form")
	}
	dana.pageCheck("a member's vault settings", "", "")
	br.do("asking to remove dana",
		chromedp.Navigate(vault+"/members"), chromedp.WaitVisible(chromedp.CSS("#members")),
		chromedp.Click(chromedp.CSS(`button[aria-label="Remove dana@example.com"]`)),
	)
	br.waitFor("asking to remove dana", "#confirm-remove")
	mustContain(t, "the removal's question", br.text("#confirm-remove"), "dana@example.com")
	br.pageCheck("the members page asking to confirm a removal", "", "")
	if !strings.Contains(br.text("#members"), "dana@example.com") {
		t.Error("the first Remove press removed dana")
	}

	// Refused forms and empty results, each keeping what was typed.
	br.do("a bad vault name",
		chromedp.Navigate(base+"/vaults"), chromedp.WaitVisible(chromedp.CSS("#create-vault-form")),
		chromedp.SendKeys(chromedp.CSS("#vault-new-name"), "Bad Name!"),
		chromedp.Click(chromedp.CSS("#create-vault")),
	)
	br.waitFor("a bad vault name", "#page-error")
	if got := brEval[string](br, `document.querySelector('#vault-new-name').value`); got != "Bad Name!" {
		t.Errorf("the refused vault form holds %q", got)
	}
	br.pageCheck("the vaults page with an error", "", "")
	br.do("opening the credentials page", chromedp.Navigate(vault+"/credentials"), chromedp.WaitVisible(chromedp.CSS("#credential-form")))
	brSkipFormChecks(br)
	br.do("a bad credential name",
		chromedp.SendKeys(chromedp.CSS("#cred-key"), "bad key"),
		chromedp.SendKeys(chromedp.CSS("#cred-value"), secret),
		chromedp.Click(chromedp.CSS("#save-credential")),
	)
	br.waitFor("a bad credential name", "#cred-key-error")
	if got := brEval[string](br, `document.querySelector('#cred-key').value + '|' + document.querySelector('#cred-value').value`); got != "bad key|" {
		t.Errorf("the refused credential form holds %q (the name kept, the value never)", got)
	}
	br.pageCheck("the credentials page with an error", "", "", secret)
	br.do("opening the agents page", chromedp.Navigate(vault+"/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-form")))
	brSkipFormChecks(br)
	br.do("a bad agent name",
		chromedp.SendKeys(chromedp.CSS("#agent-name"), "Bad Name"),
		chromedp.Click(chromedp.CSS("#create-agent")),
	)
	br.waitFor("a bad agent name", "#agent-name-error")
	br.pageCheck("the agents page with an error", "", "", secret)
	br.do("a catalog search without a match",
		chromedp.Navigate(vault+"/catalog?q=no-such-service-anywhere"), chromedp.WaitVisible(chromedp.CSS("#no-match")))
	br.pageCheck("the catalog without a match", "", "")
	// Reloading is the reader's choice, with a way to stop it. (axe-core's
	// meta-refresh rule flags every timed reload, so the reloading page is
	// not put through pageCheck; the same page without it is.)
	br.do("a log filter without a match, reloading",
		chromedp.Navigate(vault+"/logs?agent=nobody&refresh=15"), chromedp.WaitVisible(chromedp.CSS("#no-logs")),
		chromedp.Click(chromedp.CSS("#stop-refresh")),
	)
	br.waitFor("stopping the reloads", `#f-agent[value="nobody"]`)
	if n := brEval[int](br, `document.querySelectorAll('meta[http-equiv="refresh"], #refreshing').length`); n != 0 {
		t.Error("the page still reloads after Stop refreshing")
	}
	br.pageCheck("the request log without a match", "", "")
	br.do("the proposals, none yet", chromedp.Navigate(base+"/proposals"), chromedp.WaitVisible(chromedp.CSS("#empty")))
	br.pageCheck("the proposals list, empty", "", "")
	br.do("disabling the service",
		chromedp.Navigate(vault+"/services"), chromedp.WaitVisible(chromedp.CSS("#services")),
		chromedp.Click(chromedp.CSS(`button[aria-label="Disable `+name+`"]`)),
	)
	br.waitFor("disabling the service", `button[aria-label="Enable `+name+`"]`)
	br.pageCheck("the services page with a disabled service", "", "", secret)
	// A mistyped address is a page too, not the API's JSON.
	br.do("a page that does not exist", chromedp.Navigate(vault+"/nothing-here"), chromedp.WaitVisible(chromedp.CSS("#message")))
	mustContain(t, "the not-found page", br.text("#message"), "There is no page here")
	br.pageCheck("the not-found page", "", "")

	// The instance page: an invitation's link shown once, and a refused settings form.
	br.do("inviting to the instance",
		chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#instance-invite-form")),
		chromedp.SendKeys(chromedp.CSS("#instance-invite-email"), "erin@example.com"),
		chromedp.Click(chromedp.CSS("#instance-invite")),
	)
	br.waitFor("inviting to the instance", "#instance-invite-link")
	br.pageCheck("the instance page with a new invitation", "", "")
	br.do("opening the instance page", chromedp.Navigate(base+"/instance"), chromedp.WaitVisible(chromedp.CSS("#settings-form")))
	brSkipFormChecks(br)
	br.do("a refused retention",
		chromedp.SetValue(chromedp.CSS("#log_max_age_hours"), "0"), // below the least the server keeps
		chromedp.Click(chromedp.CSS("#save-settings")),
	)
	br.waitFor("a refused retention", "#page-error")
	if got := brEval[string](br, `document.querySelector('#log_max_age_hours').value`); got != "0" {
		t.Errorf("the refused settings form holds %q", got)
	}
	br.pageCheck("the instance page with an error", "", "")
	br.noDialogs()
	dana.noDialogs()
}

// brSkipFormChecks turns the browser's own form checks (pattern, type,
// required) off on the page, as an older browser or a hand-made request
// would have it, so that the server's refusal is what the test sees.
func brSkipFormChecks(b *brBrowser) {
	b.t.Helper()
	if n := brEval[int](b, `(() => { const fs = document.querySelectorAll('form'); fs.forEach(f => f.noValidate = true); return fs.length; })()`); n == 0 {
		b.t.Fatal("no form on the page")
	}
}
