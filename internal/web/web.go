// Package web serves Agent Vault's browser pages: the proposal approval
// page (/approve/{id}?token=av_appr_…), a reviewer's view of one proposal
// (/proposals/{id}), the list of pending proposals (/proposals), and the
// login and logout pages. Pages are rendered on the server with
// html/template and work without JavaScript; each handler calls the
// broker, which makes every permission decision.
//
// Security: the session lives in the av_session cookie (HttpOnly,
// SameSite=Strict, Secure behind TLS or an https base URL); every form
// carries a CSRF token (an HMAC of the session token, or of a pre-login
// cookie for login forms) that POST checks together with Origin/Referer
// when the browser sends them; every answer carries a strict
// Content-Security-Policy, no-store, nosniff and no-referrer (approval
// URLs hold a token). Credential values typed into a form go to the
// broker and are never written back into a page.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// Cookie names.
const (
	// SessionCookie holds the user's av_sess_ token.
	SessionCookie = "av_session"
	// loginCookie is a random value the login form's CSRF token is bound
	// to, before there is a session.
	loginCookie = "av_login_csrf"
)

// maxForm bounds a form body (the server's gate applies its own limit too).
const maxForm = 64 << 10

// Options configure the web handler.
type Options struct {
	Broker *broker.Broker // required
	// BaseURL is the instance's external URL: its origin is accepted in
	// Origin/Referer checks, and an https base URL makes cookies Secure.
	BaseURL string
	// Key signs CSRF tokens. Empty means a random key per process (open
	// forms then need a reload after a restart).
	Key    []byte
	Logger *slog.Logger
	// Limiter, when set, puts the login form behind the same failure budget
	// per client address as the API's login (docs/security-model.md, "Rate
	// limits").
	Limiter        *ratelimit.Limiter
	TrustedProxies []netip.Prefix
}

// Handler serves the pages.
type Handler struct {
	lim        *ratelimit.Limiter
	trusted    []netip.Prefix
	b          *broker.Broker
	key        []byte
	baseOrigin string
	secureBase bool
	log        *slog.Logger
	mux        *routeMux
}

// New builds the handler.
func New(o Options) *Handler {
	pages() // parse the templates now: a broken one fails at start, not on a visit
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	key := o.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("web: no randomness for the CSRF key: " + err.Error())
		}
	}
	h := &Handler{b: o.Broker, key: key, log: o.Logger, mux: &routeMux{ServeMux: http.NewServeMux()}, lim: o.Limiter, trusted: o.TrustedProxies}
	if u, err := url.Parse(strings.TrimRight(o.BaseURL, "/")); err == nil && u.Host != "" {
		h.baseOrigin = model.LowerASCII(u.Scheme + "://" + u.Host)
		h.secureBase = u.Scheme == "https"
	}
	h.mux.HandleFunc("GET /approve/{id}", h.approvePage)
	h.mux.HandleFunc("POST /approve/{id}", h.approvePost)
	h.mux.HandleFunc("GET /proposals/{id}", h.approvePage)
	h.mux.HandleFunc("POST /proposals/{id}", h.approvePost)
	h.mux.HandleFunc("GET /proposals", h.listPage)
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.loginPost)
	h.mux.HandleFunc("GET /invite/{token}", h.invitePage)
	h.mux.HandleFunc("POST /invite/{token}", h.invitePost)
	h.mux.HandleFunc("GET /vaults", h.vaultsPage)
	h.mux.HandleFunc("GET /vaults/{name}", h.vaultPage)
	h.mux.HandleFunc("GET /logout", h.logoutPage)
	h.mux.HandleFunc("POST /logout", h.logoutPost)
	// A vault's sub-pages (vaultcommon.go).
	h.routeCredentials()
	h.routeServices()
	h.routeAgents()
	h.routeLogs()
	h.routeAdmin()
	h.routeOAuthConnect()
	return h
}

// ServeHTTP sets the security headers of every answer and dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// Unknown path or method: an HTML answer, not the mux's text.
		status := http.StatusNotFound
		if allow := h.mux.allowed(r.URL.Path); allow != "" {
			status = http.StatusMethodNotAllowed
			hd.Set("Allow", allow)
		}
		h.renderMessage(w, r, status, http.StatusText(status), "There is no page here for "+r.Method+" "+r.URL.Path+".")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// pathMatches reports whether path fits a pattern of paths: a {…}
// segment matches any one non-empty segment, a last {….} one or more;
// "/{$}" is the root only.
func pathMatches(pattern, path string) bool {
	if pattern == "/{$}" {
		return path == "/"
	}
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if last := ps[len(ps)-1]; strings.HasSuffix(last, "...}") && len(xs) >= len(ps) {
		xs = append(xs[:len(ps)-1], strings.Join(xs[len(ps)-1:], "/"))
	}
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" {
				return false
			}
		} else if p != xs[i] {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------
// Sessions and cookies.

// session is the browser's logged-in state.
type session struct {
	token string
	actor broker.Actor
}

func (s *session) loggedIn() bool { return s != nil && s.token != "" }

// email is the logged-in user's address ("" when logged out).
func (s *session) email() string {
	if !s.loggedIn() {
		return ""
	}
	return s.actor.User.Email
}

// currentSession resolves the session cookie. Only user login sessions
// count: an agent token or a scoped session in the cookie is ignored.
func (h *Handler) currentSession(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	a, err := h.b.Authenticate(r.Context(), c.Value)
	if err != nil || !a.IsUser() {
		return nil
	}
	return &session{token: c.Value, actor: a}
}

// secure reports whether cookies must be Secure.
func (h *Handler) secure(r *http.Request) bool { return r.TLS != nil || h.secureBase }

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode,
	})
}

// setSession stores a fresh session token in the cookie. The cookie lasts
// for the browser session; the server enforces the token's own expiry.
func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, tok string) {
	h.setCookie(w, r, SessionCookie, tok, 0)
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	h.setCookie(w, r, SessionCookie, "", -1)
}

// ---------------------------------------------------------------------
// CSRF.

// mac is the base64url HMAC-SHA256 of the purpose and value under the key.
func (h *Handler) mac(purpose, value string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("agent-vault web csrf v1\x00" + purpose + "\x00" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionCSRF is the token of forms shown to a logged-in user.
func (h *Handler) sessionCSRF(s *session) string { return h.mac("session", s.token) }

// loginCSRF returns the token of a login form, setting the pre-login
// cookie it is bound to when the browser has none.
func (h *Handler) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		v = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		h.setCookie(w, r, loginCookie, v, 3600)
	}
	return h.mac("login", v)
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// checkSessionCSRF verifies a logged-in form.
func (h *Handler) checkSessionCSRF(r *http.Request, s *session) bool {
	return h.sameOrigin(r) && s.loggedIn() && equal(r.PostFormValue("csrf"), h.sessionCSRF(s))
}

// checkLoginCSRF verifies a login form.
func (h *Handler) checkLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	return h.sameOrigin(r) && err == nil && c.Value != "" && equal(r.PostFormValue("csrf"), h.mac("login", c.Value))
}

// sameOrigin checks the fetch metadata, Origin (or, without one, Referer)
// when the browser sends them. "Origin: null" counts as absent: Chromium
// sends it for every form posted from a page with Referrer-Policy:
// no-referrer, which ours are; Sec-Fetch-Site, the CSRF token and the
// SameSite=Strict cookie still apply then.
func (h *Handler) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // cross-site, or same-site (a sibling subdomain)
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return h.allowedOrigin(r, o)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" {
			return false
		}
		return h.allowedOrigin(r, u.Scheme+"://"+u.Host)
	}
	return true
}

func (h *Handler) allowedOrigin(r *http.Request, origin string) bool {
	origin = model.LowerASCII(strings.TrimRight(origin, "/"))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == model.LowerASCII(scheme+"://"+r.Host) || (h.baseOrigin != "" && origin == h.baseOrigin)
}

// errNULInForm: PostgreSQL stores no NUL character in text, and no field
// of ours needs one.
var errNULInForm = errors.New("the form holds a NUL character")

// parseForm reads a url-encoded form body of bounded size.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return err
	}
	for _, vs := range r.Form {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) {
				return errNULInForm
			}
		}
	}
	return nil
}

// formError answers a form parseForm could not read, as a page: 413 for
// one over the size limit, else 400.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		h.renderMessage(w, r, http.StatusRequestEntityTooLarge, "Request too large",
			fmt.Sprintf("The form is larger than this page accepts (%d KiB). Go back and send a shorter one.", tooLarge.Limit>>10))
		return
	}
	if errors.Is(err, errNULInForm) {
		h.renderMessage(w, r, http.StatusBadRequest, "Bad request", "The form holds a NUL character, which no field accepts.")
		return
	}
	h.renderMessage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
}

// localPath returns next when it is a path on this site (never another
// host, scheme or a protocol-relative URL), else def.
func localPath(next, def string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return def
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return def
	}
	return next
}

// login checks a password behind the address's failure budget.
func (h *Handler) login(r *http.Request, email, password string) (apitype.TokenResponse, error) {
	var tok apitype.TokenResponse
	err := h.guarded(r, "failed logins", func(ctx context.Context) error {
		var err error
		tok, err = h.b.Login(ctx, apitype.Credentials{Email: email, Password: password, DeviceLabel: deviceLabel})
		return err
	})
	return tok, err
}

// guarded runs fn, a check of a guessable secret, behind the auth tier's
// failure budget of the client's address, shared with the API: a failure
// is reserved before the (slow) check and refunded unless fn's answer is a
// wrong guess (broker.WrongGuess). what names the failures in the 429.
func (h *Handler) guarded(r *http.Request, what string, fn func(context.Context) error) error {
	if h.lim == nil {
		return fn(r.Context())
	}
	done, ok, retry := h.lim.Attempt(ratelimit.TierAuth, ratelimit.IPKey(ratelimit.ClientIP(r, h.trusted)))
	if !ok {
		return &errs.Error{Kind: errs.KindRateLimited, Code: "rate_limited",
			Message: "Too many " + what + " from your address. Try again in " + strconv.Itoa(ratelimit.RetryAfterSeconds(retry)) + " seconds."}
	}
	err := fn(r.Context())
	done(!broker.WrongGuess(err))
	return err
}
