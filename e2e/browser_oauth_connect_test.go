package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// brSPKI is the base64 SHA-256 of a TLS server's public key, for
// Chromium's --ignore-certificate-errors-spki-list (trust that one key).
func brSPKI(t *testing.T, hostport string) string {
	t.Helper()
	c, err := tls.Dial("tcp", hostport, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the key to pin it
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// An agent proposes an OAuth slot; the owner approves it in Chromium,
// follows the result page to Connect, consents at the provider (the
// go-oauth2 fixture's consent page) and lands back on the vault's
// callback page with the credential connected.
func TestBrowserOAuthConnect(t *testing.T) {
	p, caFile := ocProvider(t, true)
	b := ocBroker(t, caFile)
	const clientID, secret = "console-app", "console-app-secret-31415"
	p.AddClient(oauthtestClient(clientID, secret, b.srv.url+"/v1/oauth/callback"))
	b.mu.Lock()
	b.secrets = append(b.secrets, secret)
	b.mu.Unlock()
	agent := b.agent("crm-bot")
	created := brPropose(t, b.srv.url, agent, map[string]any{
		"credentials": []any{map[string]any{"action": "set", "key": "CRM", "type": "oauth",
			"oauth": map[string]any{"authorization_url": p.AuthorizeURL, "token_url": p.TokenURL, "client_id": clientID, "scopes": []string{"read", "write"}}}},
		"services": []any{map[string]any{"action": "set", "name": "crm", "host": p.Host, "auth": map[string]any{"type": "bearer", "token": "CRM"}}},
		"message":  "Need the CRM",
	})

	br := brStartWith(t, 90*time.Second, chromedp.Flag("ignore-certificate-errors-spki-list", brSPKI(t, p.Host)))
	br.do("opening the approval link", chromedp.Navigate(created.ApprovalURL), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	br.login(brOwnerEmail, brOwnerPW, "#approve-form")
	br.do("approving", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#oauth-to-connect")))
	br.pageCheck("the approval result with its Connect link", "", "", secret)
	br.do("following Connect", chromedp.Click(chromedp.CSS("#connect-CRM")), chromedp.WaitVisible(chromedp.CSS("#oauth-connect-form")))
	// The form starts from what the proposal said of the provider.
	if v := brEval[string](br, `document.querySelector('#oauth-token-url').value`); v != p.TokenURL {
		t.Fatalf("token URL prefilled with %q, want %q", v, p.TokenURL)
	}
	mustContain(t, "redirect URI", br.text("#oauth-redirect-uri"), b.srv.url+"/v1/oauth/callback")
	br.pageCheck("the connect form", "oauth-connect-form.png", "", secret)
	br.do("connecting",
		chromedp.SendKeys(chromedp.CSS("#oauth-client-secret"), secret),
		chromedp.Click(chromedp.CSS("#oauth-connect")),
		chromedp.WaitVisible(chromedp.CSS("#oauth-continue")))
	mustContain(t, "provider host", br.text("#oauth-provider-host"), p.Host)
	br.pageCheck("the page linking to the provider", "", "", secret)
	br.do("continuing to the provider", chromedp.Click(chromedp.CSS("#oauth-continue")), chromedp.WaitVisible(chromedp.CSS("#allow")))
	br.do("allowing at the provider", chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#oauth-result")))
	// Back on the vault: the callback came from another site, so the page
	// asks to finish; the button's same-site post carries the session.
	loc, _ := chromedp.Run(br.ctx, chromedp.Location())
	if !strings.HasPrefix(loc, b.srv.url+"/v1/oauth/callback?") {
		t.Fatalf("landed on %s", loc)
	}
	br.pageCheck("the callback page", "", "", secret)
	br.do("finishing", chromedp.Click(chromedp.CSS("#oauth-finish")), chromedp.WaitVisible(chromedp.CSS("#oauth-done")))
	br.pageCheck("the connected page", "", "", secret)
	mustContain(t, "result", br.text("main"), "CRM", "default", "connected")
	br.screenshot("oauth-connect.png")
	if loc, _ := chromedp.Run(br.ctx, chromedp.Location()); strings.Contains(loc, "code=") {
		t.Errorf("the result page's URL holds the code: %s", loc)
	}
	// The session cookie stays SameSite=Strict and HttpOnly.
	cks, err := chromedp.Call(br.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.srv.url}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cks.Cookies {
		if c.Name == "av_session" && (c.SameSite != network.CookieSameSiteStrict || !c.HTTPOnly) {
			t.Errorf("session cookie: SameSite %s HttpOnly %v", c.SameSite, c.HTTPOnly)
		}
	}
	br.do("back to the credentials", chromedp.Click(chromedp.CSS("#oauth-back")), chromedp.WaitVisible(chromedp.CSS("#cred-CRM")))
	br.pageCheck("the credentials page with its OAuth forms", "", "", secret)
	br.noDialogs()

	// Connecting again and denying at the provider: the page says so,
	// and the stored tokens stay.
	br.do("connecting again", chromedp.Click(chromedp.CSS("#connect-CRM")), chromedp.WaitVisible(chromedp.CSS("#oauth-reconnect")),
		chromedp.Click(chromedp.CSS("#oauth-connect")), chromedp.WaitVisible(chromedp.CSS("#oauth-continue")),
		chromedp.Click(chromedp.CSS("#oauth-continue")), chromedp.WaitVisible(chromedp.CSS("#deny")),
		chromedp.Click(chromedp.CSS("#deny")), chromedp.WaitVisible(chromedp.CSS("#oauth-failed")))
	mustContain(t, "denied", br.text("main"), "did not grant access", "access_denied")
	br.pageCheck("the page after a denial", "", "", secret)
	br.screenshot("oauth-connect-denied.png")
	br.noDialogs()

	// The agent's request through the proxy now carries the token.
	before := p.APIHits()
	resp, err := b.client(agent, "default", false).Get(p.APIURL + "deals")
	if err != nil {
		t.Fatal(err)
	}
	if body := b.read(resp); resp.StatusCode != http.StatusOK || p.APIHits() != before+1 {
		t.Fatalf("proxied request after connecting: %d %s", resp.StatusCode, body)
	}
}
