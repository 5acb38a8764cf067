package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/agent-vault/agent-vault/internal/broker"
)

// The OAuth callback page: the provider sends the browser back to
// /v1/oauth/callback?code=…&state=… (or ?error=…). That navigation comes
// from another site, so the browser leaves the SameSite=Strict session
// cookie out; the page therefore asks the user to finish with a button,
// whose same-site POST carries the session. The broker completes the flow
// only for the user who started it. Nothing a provider sends is ever used
// as a link or a redirect; its error text is shown escaped and trimmed.

const oauthCallbackPath = broker.OAuthCallbackPath

// maxProviderText bounds what is shown of a provider's error.
const maxProviderText = 300

// oauthCallbackView is the data of the callback page.
type oauthCallbackView struct {
	State, Code, CSRF string
	Vault, Key        string
	ProviderHost      string
	Done              bool   // the credential is connected
	Failed            string // what went wrong, when it did
	ProviderError     string // the provider's error code and description, trimmed
	Back              string // the credentials page of the vault, when known
}

func (h *Handler) renderCallback(w http.ResponseWriter, r *http.Request, status int, s *session, v *oauthCallbackView, errMsg string) {
	if v.Vault != "" {
		v.Back = vaultPath(v.Vault, "credentials")
	}
	title := "Connect a credential"
	if v.Done {
		title = "Connected"
	}
	h.render(w, r, status, "oauth_callback", s, &pageData{Title: title, Page: v, Error: errMsg})
}

// providerText makes a provider-supplied string fit to show: control and
// format characters (bidirectional overrides) dropped, length bounded.
// html/template escapes it.
func providerText(s string) string {
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return -1
		}
		return c
	}, s)
	if len(s) > maxProviderText {
		s = strings.ToValidUTF8(s[:maxProviderText], "") + "…"
	}
	return s
}

func (h *Handler) oauthCallbackPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	s := h.currentSession(r) // usually nil: see above
	v := &oauthCallbackView{}
	info, infoErr := h.b.PeekOAuthFlow(r.Context(), state)
	if infoErr == nil {
		v.Vault, v.Key, v.ProviderHost = info.Vault, info.Key, info.ProviderHost
	}
	if e := q.Get("error"); e != "" {
		// The provider refused (the user declined, say): the flow is over.
		h.b.CancelOAuthFlow(r.Context(), state)
		v.ProviderError = providerText(e)
		if d := q.Get("error_description"); d != "" {
			v.ProviderError += ": " + providerText(d)
		}
		v.Failed = "The provider did not grant access, so nothing was stored."
		h.renderCallback(w, r, http.StatusBadRequest, s, v, "")
		return
	}
	if infoErr != nil {
		v.Failed = message(infoErr)
		h.renderCallback(w, r, statusOf(infoErr), s, v, "")
		return
	}
	if code == "" {
		h.b.CancelOAuthFlow(r.Context(), state)
		v.Failed = "The provider sent no authorization code back, so nothing was stored. Start the connection again."
		h.renderCallback(w, r, http.StatusBadRequest, s, v, "")
		return
	}
	v.State, v.Code, v.CSRF = state, code, h.mac("oauth-callback", state)
	h.renderCallback(w, r, http.StatusOK, s, v, "")
}

func (h *Handler) oauthCallbackPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	state, code := r.PostFormValue("state"), r.PostFormValue("code")
	v := &oauthCallbackView{}
	if !h.sameOrigin(r) || !equal(r.PostFormValue("csrf"), h.mac("oauth-callback", state)) {
		v.Failed = "This form did not come from this site's page, so nothing was stored. Open the link the provider sent you back with again, or start the connection again."
		h.renderCallback(w, r, http.StatusForbidden, h.currentSession(r), v, "")
		return
	}
	s := h.currentSession(r)
	if !s.loggedIn() {
		// Log in, then come back to the page that asks to finish.
		back := oauthCallbackPath + "?" + url.Values{"state": {state}, "code": {code}}.Encode()
		d := &pageData{Title: "Log in to finish connecting", Login: &loginForm{Action: "/login", Next: back, CSRF: h.loginCSRF(w, r)},
			Error: "Log in as the user who started this connection to finish it."}
		h.render(w, r, http.StatusUnauthorized, "login", nil, d)
		return
	}
	done, err := h.b.CompleteOAuthConnect(r.Context(), s.actor, state, code)
	v.Vault, v.Key = done.Vault, done.Key
	if err != nil {
		v.Failed = message(err)
		h.renderCallback(w, r, statusOf(err), s, v, "")
		return
	}
	v.Done = true
	h.renderCallback(w, r, http.StatusOK, s, v, "")
}
