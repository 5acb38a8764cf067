package e2e

// The approval loop in a real browser: an agent asks for access with
// POST /v1/proposals, a human opens the approval_url in headless Chromium,
// logs in on the page, fills the credential and presses Allow (or Deny
// with a reason), the agent's poll sees the decision, and its next
// proxied request reaches an HTTPS upstream with the credential injected.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const brXSS = `<img src=x onerror=alert(1)><script>alert(2)</script>`

func TestBrowserApproveLoop(t *testing.T) {
	t.Parallel()
	br := brStart(t)
	const key = "sk_live_browser_e2e_9c1d5b7f3a"
	ca := pxNewCA(t)
	up := pxStartUpstream(t, ca, pxAuthHandler("Bearer "+key))
	b := pxStart(t, pxOpts{ca: ca})
	b.mu.Lock()
	b.secrets = append(b.secrets, key) // the hygiene check looks for it in every log and client output
	b.mu.Unlock()
	tok := b.agent("bot")
	base := b.srv.url
	host := up.hostport()

	created := brPropose(t, base, tok, map[string]any{
		"services": []map[string]any{{"action": "set", "name": "payments", "host": host,
			"auth": map[string]any{"type": "bearer", "token": "PAYMENTS_KEY"}}},
		"credentials": []map[string]any{{"action": "set", "key": "PAYMENTS_KEY",
			"description": "API key of the payments sandbox", "obtain": "https://dashboard.example.com/apikeys",
			"obtain_instructions": "Developers → API keys → Create restricted key (read charges)"}},
		"message":      "GET /v1/charges answered 401: the payments API needs a key.",
		"user_message": "I need read access to the payments API to reconcile last month's charges.",
	})

	// The human opens the link: the page explains the request and asks to log in.
	br.do("opening the approval link", chromedp.Navigate(created.ApprovalURL), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	mustContain(t, "the logged-out approval page", br.text("main"),
		"agent:bot", "reconcile last month's charges", "payments", host, "bearer", "PAYMENTS_KEY", "API key of the payments sandbox")
	if n := brEval[int](br, `document.querySelectorAll('input[name^="value."]').length`); n != 0 {
		t.Errorf("the logged-out page has %d value inputs", n)
	}
	if rel := brEval[string](br, `document.querySelector('a.obtain').rel`); rel != "noopener noreferrer" {
		t.Errorf("obtain link rel = %q", rel)
	}
	br.pageCheck("approval-logged-out", "approval-logged-out.png", "")

	// Inline login returns to the same page, now with the form.
	br.login(brOwnerEmail, brOwnerPW, "#approve-form")
	if loc, _ := chromedp.Run(br.ctx, chromedp.Location()); loc != created.ApprovalURL {
		t.Errorf("after login the browser is at %s, want the approval link", brCutToken(loc))
	}
	cookie := brEval[string](br, `document.cookie`)
	if strings.Contains(cookie, "av_sess_") {
		t.Error("the session cookie is readable from JavaScript (not HttpOnly)")
	}
	br.do("filling the value", chromedp.SendKeys(chromedp.CSS("#value-PAYMENTS_KEY"), key))
	br.pageCheck("approval-logged-in", "approval-logged-in.png", "")
	br.do("allowing", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#applied")))
	applied := br.text("#applied")
	mustContain(t, "the result page", applied, "set credential PAYMENTS_KEY", "set service payments")
	if html := brEval[string](br, `document.documentElement.outerHTML`); strings.Contains(html, key) {
		t.Error("the result page contains the credential value")
	}
	br.pageCheck("approval-result", "approval-result.png", "")

	// The agent's poll sees applied, and its retry gets the credential injected.
	if p := brPoll(t, base, tok, created.ID); p.Status != "applied" {
		t.Fatalf("the agent's poll sees %q, want applied", p.Status)
	}
	cl := b.client(tok, "default", false)
	resp, err := cl.Get(up.url() + "/v1/charges")
	if err != nil {
		t.Fatal(err)
	}
	if body := b.read(resp); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "authorized GET /v1/charges") {
		t.Fatalf("after approval: %d %q", resp.StatusCode, body)
	}
	pxCheckInjected(t, up.last(t), "Bearer "+key)

	// The list page shows nothing pending any more.
	br.do("opening the list", chromedp.Navigate(base+"/proposals?status=applied"), chromedp.WaitVisible(chromedp.CSS("#proposal-list")))
	if !strings.Contains(br.text("#proposal-list"), "#"+strconv.FormatInt(created.ID, 10)) {
		t.Error("the applied proposal is not listed under applied")
	}

	// The vault page shows what the approval added, never the value.
	br.do("opening the vault page", chromedp.Navigate(base+"/vaults"), chromedp.WaitVisible(chromedp.CSS("#vault-list")),
		chromedp.Click(chromedp.CSS(`a[href="/vaults/default"]`)), chromedp.WaitVisible(chromedp.CSS("#services")))
	mustContain(t, "the vault page", br.text("main"), "payments", host, "PAYMENTS_KEY", brOwnerEmail)
	if html := brEval[string](br, `document.documentElement.outerHTML`); strings.Contains(html, key) {
		t.Error("the vault page contains the credential value")
	}
	br.pageCheck("the vault page", "", "", key) // its screenshot comes from TestBrowserStory
	br.noDialogs()
}

func TestBrowserDenyWithReason(t *testing.T) {
	t.Parallel()
	br := brStart(t)
	s, tok := brPlainServer(t)
	created := brPropose(t, s.url, tok, map[string]any{
		"services": []map[string]any{{"action": "set", "name": "github", "host": "api.github.com",
			"auth": map[string]any{"type": "bearer", "token": "GITHUB_TOKEN"}}},
		"credentials":  []map[string]any{{"action": "set", "key": "GITHUB_TOKEN", "description": "a token with repo scope"}},
		"user_message": "I want to push to the main branch.",
	})
	br.do("opening the approval link", chromedp.Navigate(created.ApprovalURL))
	br.login(brOwnerEmail, brOwnerPW, "#deny-form")
	// The session cookie is HttpOnly and SameSite=Strict, and the JSON API
	// does not accept it: a request riding the cookie is unauthenticated.
	cks, err := chromedp.Call(br.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url}})
	if err != nil {
		t.Fatal(err)
	}
	var sess *network.Cookie
	for _, c := range cks.Cookies {
		if c.Name == "av_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HTTPOnly || sess.SameSite != network.CookieSameSiteStrict || sess.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/", sess)
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/admin/proposals/"+strconv.FormatInt(created.ID, 10)+"/reject", strings.NewReader(`{"reason":"cross-site"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: sess.Name, Value: sess.Value})
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the API accepted the browser's session cookie: %d", resp.StatusCode)
	}
	// The real binary serves the page with its security headers.
	r := call(t, http.MethodGet, created.ApprovalURL, "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET approval_url: %d %s", r.status, r.header.Get("Content-Type"))
	}
	for k, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if !strings.Contains(r.header.Get(k), want) {
			t.Errorf("approval page %s = %q, want %q", k, r.header.Get(k), want)
		}
	}
	const reason = "Use a fine-grained token limited to the docs repo instead."
	br.do("denying",
		chromedp.SendKeys(chromedp.CSS("#reason"), reason),
		chromedp.Click(chromedp.CSS("#deny")),
		chromedp.WaitVisible(chromedp.CSS("#rejection-reason")),
	)
	if got := br.text("#rejection-reason"); got != reason {
		t.Errorf("result page reason %q", got)
	}
	br.pageCheck("approval-denied", "approval-denied.png", "")
	p := brPoll(t, s.url, tok, created.ID)
	if p.Status != "rejected" || p.RejectionReason != reason {
		t.Fatalf("the agent's poll sees %+v, want rejected with the reason", p)
	}
	// The page, reloaded, says it is decided and offers no form.
	br.do("reloading", chromedp.Navigate(created.ApprovalURL), chromedp.WaitVisible(chromedp.CSS("#decision")))
	if n := brEval[int](br, `document.querySelectorAll('#approve-form, #deny-form').length`); n != 0 {
		t.Errorf("a decided proposal still shows %d forms", n)
	}
	br.noDialogs()
}

func TestBrowserXSSRendersAsText(t *testing.T) {
	t.Parallel()
	br := brStart(t)
	s, tok := brPlainServer(t)
	created := brPropose(t, s.url, tok, map[string]any{
		"credentials": []map[string]any{{"action": "set", "key": "SOME_KEY", "description": "desc " + brXSS,
			"obtain": "javascript:alert(3)", "obtain_instructions": brXSS}},
		"message":      brXSS,
		"user_message": brXSS,
	})
	for _, loggedIn := range []bool{false, true} {
		br.do("opening the approval link", chromedp.Navigate(created.ApprovalURL), chromedp.WaitVisible(chromedp.CSS("#user-message")))
		if loggedIn {
			br.login(brOwnerEmail, brOwnerPW, "#approve-form")
		}
		if got := br.text("#user-message"); got != brXSS {
			t.Errorf("user_message text = %q, want the payload literally", got)
		}
		if got := br.text("#dev-message"); got != brXSS {
			t.Errorf("message text = %q, want the payload literally", got)
		}
		if n := brEval[int](br, `document.querySelectorAll('script').length`); n != 0 {
			t.Errorf("the page has %d <script> elements", n)
		}
		if n := brEval[int](br, `document.querySelectorAll('img').length`); n != 0 {
			t.Errorf("the page has %d <img> elements", n)
		}
		if n := brEval[int](br, `document.querySelectorAll('#user-message *, #dev-message *, .desc *, .instructions *').length`); n != 0 {
			t.Errorf("the messages hold %d elements; they must be plain text", n)
		}
		if n := brEval[int](br, `[...document.querySelectorAll('a')].filter(a => !/^https?:/.test(a.href)).length`); n != 0 {
			t.Errorf("%d links with a scheme other than http(s)", n)
		}
		if got := br.text(".obtain-text"); got != "javascript:alert(3)" {
			t.Errorf("javascript: obtain shown as %q", got)
		}
	}
	br.noDialogs()
}
