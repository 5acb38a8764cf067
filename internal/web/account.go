package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The account pages: register (when the instance is open), forgot and
// reset password, and /account (change password, sessions, delete the
// account). Every check of a guessable secret (a current password, a
// reset code) runs behind the address's failed-login budget.

// authForm is the state of a logged-out form: what was typed, never a
// password or a code.
type authForm struct {
	CSRF, Email string
	Closed      string // why registration is closed ("" when open)
	Message     string // the broker's answer on the forgot page
}

// accountView is the /account page.
type accountView struct {
	CSRF     string
	Email    string
	Role     string
	Sessions []sessionRow
}

type sessionRow struct {
	ID, Device, Created, LastUsed, Expires string
	Current                                bool
}

// ---------------------------------------------------------------------
// Register.

func (h *Handler) registerPage(w http.ResponseWriter, r *http.Request) {
	h.showRegister(w, r, http.StatusOK, "", "")
}

// showRegister renders the form, or says why registration is closed.
func (h *Handler) showRegister(w http.ResponseWriter, r *http.Request, status int, errMsg, email string) {
	st, err := h.b.Status(r.Context())
	if err != nil {
		h.render(w, r, statusOf(err), "message", nil, &pageData{Title: "Register", Heading: "Register", Body: message(err)})
		return
	}
	if st.NeedsFirstUser {
		// The first account is the owner's: only the setup page (with its
		// code) creates it.
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	f := &authForm{CSRF: h.loginCSRF(w, r), Email: email}
	if st.InviteOnly {
		f.Closed = "This instance is invite-only: ask an owner, or a member of a vault, to invite you. The invitation's link opens a page that creates your account."
		if status == http.StatusOK {
			status = http.StatusForbidden
		}
	}
	h.render(w, r, status, "register", h.currentSession(r), &pageData{Title: "Register", Error: errMsg, Admin: f})
}

func (h *Handler) registerPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if !h.checkLoginCSRF(r) {
		h.showRegister(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Fill it in again.", email)
		return
	}
	if need, err := h.needsOwner(r); err != nil || need {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		h.showRegister(w, r, http.StatusBadRequest, "The two passwords differ. Type the same one twice.", email)
		return
	}
	out, err := h.b.Register(r.Context(), apitype.Credentials{Email: email, Password: pw, DeviceLabel: deviceLabel})
	if err != nil {
		h.showRegister(w, r, statusOf(err), message(err), email)
		return
	}
	// The browser's earlier account is logged out, not left behind with a
	// live session nobody sees (as on the invite page).
	if prev := h.currentSession(r); prev.loggedIn() {
		_, _ = h.b.Logout(r.Context(), prev.actor)
		h.clearSession(w, r)
	}
	if out.RequiresVerification {
		// No account exists until the emailed code is verified.
		h.render(w, r, http.StatusOK, "message", nil, &pageData{Title: "Check your email", Heading: "Check your email",
			Body: out.Message})
		return
	}
	tok := out.Token
	if !out.Authenticated {
		login, err := h.login(r, out.Email, pw)
		if err != nil {
			redirectAdmin(w, r, "/login?next=%2Fvaults", "registered")
			return
		}
		tok = login.Token
	}
	h.setSession(w, r, tok)
	h.setCookie(w, r, loginCookie, "", -1)
	redirectAdmin(w, r, "/vaults", "registered")
}

// ---------------------------------------------------------------------
// Forgot and reset password.

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "forgot", h.currentSession(r), &pageData{Title: "Forgot your password", Admin: &authForm{CSRF: h.loginCSRF(w, r)}})
}

func (h *Handler) forgotPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	fail := func(status int, msg string, f *authForm) {
		f.CSRF, f.Email = h.loginCSRF(w, r), email
		h.render(w, r, status, "forgot", nil, &pageData{Title: "Forgot your password", Error: msg, Admin: f})
	}
	if !h.checkLoginCSRF(r) {
		fail(http.StatusForbidden, "This form has expired or did not come from this site. Fill it in again.", &authForm{})
		return
	}
	var out apitype.ForgotPasswordResult
	err := h.guarded(r, "password reset attempts", func(ctx context.Context) error {
		var err error
		out, err = h.b.ForgotPassword(ctx, apitype.ForgotPasswordRequest{Email: email})
		return err
	})
	if err != nil {
		fail(statusOf(err), message(err), &authForm{})
		return
	}
	if !out.EmailSent { // this server sends no email: the broker says what to do
		fail(http.StatusOK, "", &authForm{Message: out.Message})
		return
	}
	redirectAdmin(w, r, "/reset?email="+url.QueryEscape(email), "reset-sent")
}

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "reset", h.currentSession(r), &pageData{Title: "Reset your password",
		Admin: &authForm{CSRF: h.loginCSRF(w, r), Email: r.URL.Query().Get("email")}})
}

func (h *Handler) resetPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	fail := func(status int, msg string) {
		h.render(w, r, status, "reset", nil, &pageData{Title: "Reset your password", Error: msg, Admin: &authForm{CSRF: h.loginCSRF(w, r), Email: email}})
	}
	if !h.checkLoginCSRF(r) {
		fail(http.StatusForbidden, "This form has expired or did not come from this site. Fill it in again.")
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		fail(http.StatusBadRequest, "The two passwords differ. Type the same one twice.")
		return
	}
	err := h.guarded(r, "failed reset attempts", func(ctx context.Context) error {
		_, err := h.b.ResetPassword(ctx, apitype.ResetPasswordRequest{Email: email, Code: r.PostFormValue("code"), NewPassword: pw})
		return err
	})
	if err != nil {
		fail(statusOf(err), message(err))
		return
	}
	redirectAdmin(w, r, "/login?next=%2Fvaults", "password-reset")
}

// ---------------------------------------------------------------------
// The account page.

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next=%2Faccount", http.StatusSeeOther)
		return
	}
	h.showAccount(w, r, s, http.StatusOK, "")
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string) {
	v := &accountView{CSRF: h.sessionCSRF(s), Email: s.email(), Role: string(s.actor.Role())}
	d := &pageData{Title: "Your account", Error: errMsg, Admin: v}
	list, err := h.b.ListSessions(r.Context(), s.actor)
	if err != nil && d.Error == "" {
		d.Error, status = message(err), statusOf(err)
	}
	for _, x := range list.Sessions {
		v.Sessions = append(v.Sessions, sessionRow{ID: x.ID, Device: x.DeviceLabel, Created: fmtTime(x.CreatedAt),
			LastUsed: fmtTime(x.LastUsedAt), Expires: fmtTime(x.ExpiresAt), Current: x.Current})
	}
	h.render(w, r, status, "account", s, d)
}

func (h *Handler) accountPost(w http.ResponseWriter, r *http.Request) {
	s, ok := h.adminPOST(w, r, "/account", func(s *session) { h.showAccount(w, r, s, http.StatusForbidden, errFormExpired) })
	if !ok {
		return
	}
	switch r.PostFormValue("action") {
	case "password":
		h.changePassword(w, r, s)
	case "revoke-session":
		out, err := h.b.RevokeSession(r.Context(), s.actor, r.PostFormValue("id"))
		if err != nil {
			h.showAccount(w, r, s, statusOf(err), message(err))
			return
		}
		if out.Current {
			h.clearSession(w, r)
			redirectAdmin(w, r, "/login?next=%2Faccount", "login-session-revoked")
			return
		}
		redirectAdmin(w, r, "/account", "login-session-revoked")
	case "delete":
		if strings.TrimSpace(r.PostFormValue("confirm")) != s.email() {
			h.showAccount(w, r, s, http.StatusBadRequest, "Nothing was deleted: type your email address exactly ("+s.email()+") to confirm.")
			return
		}
		if _, err := h.b.DeleteAccount(r.Context(), s.actor); err != nil {
			h.showAccount(w, r, s, statusOf(err), message(err))
			return
		}
		h.clearSession(w, r)
		redirectAdmin(w, r, "/login", "account-deleted")
	default:
		h.showAccount(w, r, s, http.StatusBadRequest, "Unknown form action: nothing was changed.")
	}
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	pw := r.PostFormValue("new_password")
	if pw != r.PostFormValue("confirm") {
		h.showAccount(w, r, s, http.StatusBadRequest, "The two new passwords differ, so the password was not changed. Type the same one twice.")
		return
	}
	var out apitype.TokenResponse
	err := h.guarded(r, "failed password checks", func(ctx context.Context) error {
		var err error
		out, err = h.b.ChangePassword(ctx, s.actor, apitype.ChangePasswordRequest{CurrentPassword: r.PostFormValue("current_password"), NewPassword: pw})
		return err
	})
	if err != nil {
		h.showAccount(w, r, s, statusOf(err), message(err)+" The password was not changed.")
		return
	}
	if out.Token != "" {
		h.setSession(w, r, out.Token)
	}
	redirectAdmin(w, r, "/account", "password-changed")
}

// errFormExpired is shown when a logged-in form's CSRF check fails.
const errFormExpired = "This form has expired or did not come from this site, so nothing was changed. Check the page and submit again."

// adminPOST resolves a POST of the admin page at page (its path): a
// readable form, a logged-in session (else the login page, which comes
// back to page) and a valid CSRF token (else expired shows the page again
// saying errFormExpired). ok is false when it has answered.
func (h *Handler) adminPOST(w http.ResponseWriter, r *http.Request, page string, expired func(s *session)) (s *session, ok bool) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return nil, false
	}
	s = h.currentSession(r)
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(page), http.StatusSeeOther)
		return nil, false
	}
	if !h.checkSessionCSRF(r, s) {
		expired(s)
		return nil, false
	}
	return s, true
}
