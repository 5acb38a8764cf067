package e2e

// The vault console in a real browser, through the real binary: log in,
// add a credential through its write-only field, add a service from the
// catalog, create an agent and read its token from the page, run
// `agent-vault run -- curl` with that token through the proxy, approve an
// agent's proposal in the browser, and find both requests in the request
// log. Along the way every vault page is checked for labels, a 375 px
// layout and the absence of the secret, and screenshotted.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// brA11yCheck is a small accessibility rule set run in the page through
// DevTools (the pages themselves run no script): every visible form
// control has a label, every button and link has a name, ids are unique,
// text meets the WCAG AA contrast ratio, the document has a language and
// a title, and no image lacks alt text.
// It returns the violations, one per line.
const brA11yCheck = `(() => {
  const out = [];
  const visible = el => el.type !== 'hidden' && !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (!visible(el)) continue;
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) out.push('unlabelled ' + el.tagName + ' name=' + el.name);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!(el.textContent.trim() || el.getAttribute('aria-label'))) out.push('nameless ' + el.tagName);
  }
  const seen = {};
  for (const el of document.querySelectorAll('[id]')) {
    if (seen[el.id]) out.push('duplicate id ' + el.id);
    seen[el.id] = true;
  }
  for (const el of document.querySelectorAll('img:not([alt])')) out.push('img without alt');
  // Text contrast (WCAG AA): 4.5:1, or 3:1 for large text, against the
  // first opaque background up the tree.
  const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bgOf = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el) || el.closest('input, textarea, select, option')) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(el);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    const a = lum(rgb(st.color).slice(0, 3)), b = lum(bgOf(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' of "' + el.textContent.trim().slice(0, 30) + '"');
  }
  if (!document.documentElement.lang) out.push('no lang');
  if (!document.title) out.push('no title');
  return out.join('\n');
})()`

// brCheckPage runs the accessibility rules and the secret check on the
// current page, and screenshots it.
func (b *brBrowser) checkPage(name string, secrets ...string) {
	b.t.Helper()
	if v := brEval[string](b, brA11yCheck); v != "" {
		b.t.Errorf("%s: accessibility: %s", name, v)
	}
	html := brEval[string](b, `document.documentElement.outerHTML`)
	for _, s := range secrets {
		if strings.Contains(html, s) {
			b.t.Errorf("%s: the page holds a credential value", name)
		}
	}
	if n := brEval[int](b, `document.querySelectorAll('script, [onclick], [onload], [onerror]').length`); n != 0 {
		b.t.Errorf("%s: %d script elements or inline handlers", name, n)
	}
	b.screenshot(name)
}

// waitFor polls for up to 90 s (a loaded machine is slow) until sel is on the page, failing with the
// page's text otherwise (a step that went wrong shows where it landed
// instead of using up the browser's whole time budget).
func (b *brBrowser) waitFor(what, sel string) {
	b.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		// An evaluation during the navigation fails; that is no answer yet.
		found, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.querySelector(`+strconv.Quote(sel)+`)`))
		if err == nil && found {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(b.ctx, chromedp.Location())
			b.t.Fatalf("browser: %s: no %s at %s; page text:\n%s", what, sel, loc, brEval[string](b, `document.body ? document.body.innerText : ""`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBrowserConsoleStory(t *testing.T) {
	t.Parallel()
	curl := rnTool(t, "curl")
	const secret = "sk_live_console_e2e_7b3e9a1c55"
	const secret2 = "rk_console_e2e_reports_0d4f8e"
	ca := pxNewCA(t)
	up := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+secret))
	up2 := rnStartUpstream(t, ca, rnUpstreamIP, rnAuthHandler("Bearer "+secret2))
	b := rnStart(t, ca)
	b.mu.Lock()
	b.secrets = append(b.secrets, secret, secret2) // the hygiene check looks for them in every log and output
	b.mu.Unlock()
	br := brStartFor(t, 10*time.Minute)
	base := b.srv.url
	clientEnv := rnCleanClientEnv(t.TempDir())

	// Log in; the vault's credentials page says what to do first.
	br.do("opening the credentials page", chromedp.Navigate(base+"/vaults/default/credentials"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	br.login(brOwnerEmail, brOwnerPW, "#credential-form")
	mustContain(t, "the empty credentials page", br.text("#no-credentials"), "Add the first one below")
	br.checkPage("console-credentials-empty.png")

	// A credential through the write-only field.
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
	br.checkPage("console-credentials.png", secret, secret2)

	// A service from the catalog, searched without script, pointed at the test upstream.
	br.do("searching the catalog",
		chromedp.Navigate(base+"/vaults/default/services"), chromedp.WaitVisible(chromedp.CSS("#no-services")),
		chromedp.Click(chromedp.CSS("#from-catalog")), chromedp.WaitVisible(chromedp.CSS("#catalog")),
		chromedp.SendKeys(chromedp.CSS("#catalog-q"), "stripe"),
		chromedp.Click(chromedp.CSS("#catalog-search")),
	)
	br.waitFor("searching the catalog", `#catalog-q[value="stripe"]`)
	if n := brEval[int](br, `document.querySelectorAll('#catalog li').length`); n != 1 {
		t.Errorf("the search for stripe lists %d entries", n)
	}
	br.checkPage("console-catalog.png")
	br.do("adding stripe",
		chromedp.Click(chromedp.CSS("#cat-stripe a.button")),
	)
	br.waitFor("adding stripe", "#service-form")
	if got := brEval[string](br, `document.querySelector('#svc-token').value`); got != "STRIPE_SECRET_KEY" {
		t.Errorf("the catalog form names credential %q", got)
	}
	br.do("pointing the service at the test upstream",
		chromedp.SetValue(chromedp.CSS("#svc-host"), up.hostport()),
	)
	br.checkPage("console-service-form.png")
	br.do("saving the service", chromedp.Click(chromedp.CSS("#save-service")))
	br.waitFor("saving the service", "#services")
	mustContain(t, "the services page", br.text("#services"), "stripe", up.hostport(), "STRIPE_SECRET_KEY", "enabled")
	br.checkPage("console-services.png", secret)

	// An agent: its token is on the answer page, once.
	br.do("creating an agent",
		chromedp.Navigate(base+"/vaults/default/agents"), chromedp.WaitVisible(chromedp.CSS("#agent-form")),
		chromedp.SendKeys(chromedp.CSS("#agent-name"), "web-bot"),
		chromedp.Click(chromedp.CSS("#create-agent")),
	)
	br.waitFor("creating an agent", "#token")
	tok := brEval[string](br, `document.querySelector('#token').value`)
	if !strings.HasPrefix(tok, "av_agt_") {
		t.Fatalf("the token page shows %q", tok)
	}
	mustContain(t, "the snippets", brEval[string](br, `document.querySelector('#env-snippet').value + document.querySelector('#run-snippet').value`),
		"HTTPS_PROXY=http://"+tok+":default@", "AGENT_VAULT_TOKEN="+tok, "agent-vault run --")
	br.checkPage("console-agent-token.png", secret)
	br.do("back to the agents", chromedp.Click(chromedp.CSS("#token-done")))
	br.waitFor("back to the agents", "#agents")
	if strings.Contains(brEval[string](br, `document.documentElement.outerHTML`), tok) {
		t.Error("the agents page shows the token again")
	}
	br.checkPage("console-agents.png", secret)

	// The agent's request through the proxy carries the credential.
	before := up.count()
	r := b.agentRun(tok, clientEnv, "run", "--", curl, "-sS", "--max-time", "20", "https://"+up.hostport()+"/v1/charges")
	if r.code != 0 || r.stdout != "authorized GET /v1/charges\n" {
		t.Fatalf("curl under run with the token from the page:\n%s", r)
	}
	up.checkAuth(t, before, "Bearer "+secret)

	// The agent proposes a second service; the human approves it in the browser with the value.
	created := brPropose(t, base, tok, map[string]any{
		"services": []map[string]any{{"action": "set", "name": "reports", "host": up2.hostport(),
			"auth": map[string]any{"type": "bearer", "token": "REPORTS_KEY"}}},
		"credentials":  []map[string]any{{"action": "set", "key": "REPORTS_KEY", "description": "read-only reports key"}},
		"user_message": "I need the reports API for the monthly summary.",
	})
	br.do("opening the proposals",
		chromedp.Navigate(base+"/proposals?vault=default"), chromedp.WaitVisible(chromedp.CSS("#proposal-list")),
	)
	br.checkPage("console-proposals.png")
	br.do("approving",
		chromedp.Click(chromedp.CSS(`#proposal-list a[href="/proposals/`+strconv.FormatInt(created.ID, 10)+`"]`)),
	)
	br.waitFor("opening the proposal", "#approve-form")
	br.do("allowing", chromedp.SendKeys(chromedp.CSS("#value-REPORTS_KEY"), secret2), chromedp.Click(chromedp.CSS("#allow")))
	br.waitFor("allowing", "#applied")
	if p := brPoll(t, base, tok, created.ID); p.Status != "applied" {
		t.Fatalf("the agent's poll sees %q", p.Status)
	}
	before2 := up2.count()
	r = b.agentRun(tok, clientEnv, "run", "--", curl, "-sS", "--max-time", "20", "https://"+up2.hostport()+"/v1/reports")
	if r.code != 0 || r.stdout != "authorized GET /v1/reports\n" {
		t.Fatalf("curl after the approval:\n%s", r)
	}
	up2.checkAuth(t, before2, "Bearer "+secret2)

	// The request log shows both requests (it is written in batches: reload until they are in).
	deadline := time.Now().Add(20 * time.Second)
	for {
		br.do("opening the request log", chromedp.Navigate(base+"/vaults/default/logs"), chromedp.WaitVisible(chromedp.CSS("#log-filters")))
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
	br.checkPage("console-logs.png", secret, secret2)
	br.do("filtering the log", chromedp.SendKeys(chromedp.CSS("#f-service"), "reports"), chromedp.Click(chromedp.CSS("#apply-filters")))
	br.waitFor("filtering the log", `#f-service[value="reports"]`)
	if txt := br.text("#logs"); strings.Contains(txt, "/v1/charges") || !strings.Contains(txt, "/v1/reports") {
		t.Errorf("the service filter shows:\n%s", txt)
	}

	// Revealing asks for the password again; a wrong one shows nothing.
	br.do("opening reveal", chromedp.Navigate(base+"/vaults/default/credentials/STRIPE_SECRET_KEY/reveal"), chromedp.WaitVisible(chromedp.CSS("#reveal-form")))
	br.checkPage("console-reveal.png", secret)
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

	// The other pages: YAML, vault sessions, the vault overview.
	br.do("opening the YAML editor", chromedp.Navigate(base+"/vaults/default/services/yaml"), chromedp.WaitVisible(chromedp.CSS("#yaml-form")))
	mustContain(t, "the YAML", brEval[string](br, `document.querySelector('#yaml').value`), "name: stripe", "name: reports", "token: REPORTS_KEY")
	br.checkPage("console-services-yaml.png", secret, secret2)
	br.do("minting a vault session",
		chromedp.Navigate(base+"/vaults/default/sessions"), chromedp.WaitVisible(chromedp.CSS("#session-form")),
		chromedp.SendKeys(chromedp.CSS("#session-label"), "nightly CI"),
		chromedp.Click(chromedp.CSS("#mint-session")),
	)
	br.waitFor("minting a vault session", "#token")
	br.do("back to the sessions", chromedp.Click(chromedp.CSS("#token-done")))
	br.waitFor("back to the sessions", "#sessions")
	br.checkPage("console-sessions.png", secret)

	// 375 px wide: nothing makes the page itself scroll sideways.
	br.do("a narrow screen", chromedp.EmulateViewport(375, 800))
	for _, p := range []string{"credentials", "services", "agents", "logs", "services/new"} {
		br.do("opening "+p+" narrow", chromedp.Navigate(base+"/vaults/default/"+p), chromedp.WaitVisible(chromedp.CSS("main")))
		if w := brEval[int](br, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("/vaults/default/%s is %d px wide at 375 px", p, w)
		}
	}
	br.do("the credentials page narrow", chromedp.Navigate(base+"/vaults/default/credentials"), chromedp.WaitVisible(chromedp.CSS("#credentials")))
	br.checkPage("console-credentials-375.png", secret, secret2)
	br.noDialogs()
}
