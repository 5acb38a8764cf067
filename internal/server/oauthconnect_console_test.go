package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var continueLink = regexp.MustCompile(`id="oauth-continue" href="([^"]+)"`)

// The console's Connect: the form prefills from the stored credential,
// posts with its CSRF token, and links to the provider; the flow then
// ends on the callback page as in the API flow.
func TestOAuthConsoleConnect(t *testing.T) {
	e := newConnectEnv(t, true)
	e.owner()
	br := e.browserOf("owner@example.com", "owner-password")
	st, _, page := br.get(e.url + "/vaults/default/credentials/CRM/connect")
	if st != http.StatusOK || !strings.Contains(page, `id="oauth-connect-form"`) || !strings.Contains(page, html.EscapeString(e.url+"/v1/oauth/callback")) {
		t.Fatalf("connect form: %d\n%s", st, page)
	}
	csrf := finishFormField(t, page, "csrf")
	form := url.Values{"csrf": {csrf}, "authorization_url": {e.p.AuthorizeURL}, "token_url": {e.p.TokenURL}, "client_id": {e.clientID},
		"client_secret": {e.secret}, "scopes": {"read"}, "scope_separator": {" "}, "token_auth_method": {"client_secret_post"}}

	// Without the CSRF token nothing starts.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("csrf", "forged")
	if st, _ := br.post("/vaults/default/credentials/CRM/connect", bad); st != http.StatusForbidden {
		t.Fatalf("connect with a forged CSRF token: %d", st)
	}

	st, page = br.post("/vaults/default/credentials/CRM/connect", form)
	m := continueLink.FindStringSubmatch(page)
	if st != http.StatusOK || m == nil {
		t.Fatalf("connect post: %d\n%s", st, page)
	}
	if strings.Contains(page, e.secret) {
		t.Fatal("the client secret was written into the page")
	}
	authURL := html.UnescapeString(m[1])
	if !strings.HasPrefix(authURL, e.p.AuthorizeURL+"?") {
		t.Fatalf("continue link %q is not the provider's", authURL)
	}
	if st, page := br.post("/v1/oauth/callback", br.callbackPage(br.consent(authURL))); st != http.StatusOK || !strings.Contains(page, `href="/vaults/default/credentials"`) {
		t.Fatalf("finish: %d\n%s", st, page)
	}
	// The credentials page offers Connect (again) for the OAuth row, and
	// its form now prefills from what was stored, never the secret.
	_, _, page = br.get(e.url + "/vaults/default/credentials")
	if !strings.Contains(page, `id="connect-CRM"`) {
		t.Fatalf("no Connect on the credentials page:\n%s", page)
	}
	_, _, page = br.get(e.url + "/vaults/default/credentials/CRM/connect")
	if !strings.Contains(page, `value="`+html.EscapeString(e.p.TokenURL)+`"`) || !strings.Contains(page, `name="has_secret" value="1"`) ||
		!strings.Contains(page, `id="oauth-reconnect"`) || strings.Contains(page, e.secret) {
		t.Fatalf("reconnect form:\n%s", page)
	}
	// Reconnecting with the secret field left blank keeps the stored one.
	_, _, page = br.get(e.url + "/vaults/default/credentials/CRM/connect")
	form.Set("csrf", finishFormField(t, page, "csrf"))
	form.Set("client_secret", "")
	form.Set("has_secret", "1")
	st, page = br.post("/vaults/default/credentials/CRM/connect", form)
	if m = continueLink.FindStringSubmatch(page); st != http.StatusOK || m == nil {
		t.Fatalf("reconnect post: %d\n%s", st, page)
	}
	if st, page := br.post("/v1/oauth/callback", br.callbackPage(br.consent(html.UnescapeString(m[1])))); st != http.StatusOK {
		t.Fatalf("finish the reconnect: %d\n%s", st, page)
	}
	if e.p.Hits("authorization_code") != 2 {
		t.Errorf("code exchanges = %d, want 2", e.p.Hits("authorization_code"))
	}
}

// finishFormField reads one hidden field of a page's forms.
func finishFormField(t *testing.T, page, name string) string {
	t.Helper()
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("no hidden %s in:\n%s", name, page)
	return ""
}

// A new OAuth credential from the credentials page: name and catalog
// provider lead to the connect form, prefilled with the provider's
// endpoints (Google's consent parameters included).
func TestOAuthConsoleConnectNewFromCatalog(t *testing.T) {
	e := newConnectEnv(t, true)
	e.owner()
	br := e.browserOf("owner@example.com", "owner-password")
	_, _, page := br.get(e.url + "/vaults/default/credentials")
	if !strings.Contains(page, `id="oauth-new-form"`) || !strings.Contains(page, `<option value="google-oauth">`) {
		t.Fatalf("no new-OAuth form with the catalog's providers:\n%s", page)
	}
	st, loc, _ := br.get(e.url + "/vaults/default/credentials/connect?key=GMAIL&catalog=google-oauth")
	if st != http.StatusSeeOther || loc != "/vaults/default/credentials/GMAIL/connect?catalog=google-oauth" {
		t.Fatalf("next: %d %q", st, loc)
	}
	_, _, page = br.get(e.url + loc)
	for _, want := range []string{`value="https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&amp;prompt=consent"`, `value="https://oauth2.googleapis.com/token"`, `value="openid email"`} {
		if !strings.Contains(page, want) {
			t.Errorf("connect form lacks %s", want)
		}
	}
	for _, bad := range []string{"lower", "", "A B", "../X"} {
		if st, _, _ := br.get(e.url + "/vaults/default/credentials/connect?key=" + url.QueryEscape(bad)); st != http.StatusBadRequest {
			t.Errorf("key %q: %d, want 400", bad, st)
		}
	}
}
