package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The entry pages: / sends the browser where it can start, and /setup
// creates the owner account on a fresh instance. A stranger who reaches
// a fresh port first must not be able to claim the instance, so the page
// asks for the one-time setup code that the server printed to its
// terminal and log when it started without an account; the broker checks
// it, as it does for the API's register (broker/firstrun.go). A wrong
// code is a wrong guess: it spends the address's failed-login budget.

// setupView is the first-run form.
type setupView struct {
	CSRF, Email string
}

// needsOwner reports whether the instance has no account yet.
func (h *Handler) needsOwner(r *http.Request) (bool, error) {
	st, err := h.b.Status(r.Context())
	return st.NeedsFirstUser, err
}

// rootPage sends the browser to its vaults, the first-run page or the
// login page.
func (h *Handler) rootPage(w http.ResponseWriter, r *http.Request) {
	if h.currentSession(r).loggedIn() {
		http.Redirect(w, r, "/vaults", http.StatusSeeOther)
		return
	}
	// A fresh instance: the setup page has the form, or says why not.
	if need, err := h.needsOwner(r); err == nil && need {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login?next=%2Fvaults", http.StatusSeeOther)
}

// setupGone answers the setup page once it has no use: it exists only
// while no account does.
func (h *Handler) setupGone(w http.ResponseWriter, r *http.Request) bool {
	need, err := h.needsOwner(r)
	if err != nil {
		h.render(w, r, statusOf(err), "message", nil, &pageData{Title: "First run", Heading: "First run", Body: message(err)})
		return true
	}
	if !need {
		h.render(w, r, http.StatusNotFound, "message", h.currentSession(r), &pageData{Title: "Setup is done", Heading: "This instance is set up",
			Body: "The owner account exists already, so there is no first-run page any more. Log in, or ask an owner for an invitation.", Link: "/login", LinkText: "Log in"})
		return true
	}
	if !h.b.FirstRunOpen() {
		h.render(w, r, http.StatusNotFound, "message", nil, &pageData{Title: "First run", Heading: "Restart the server",
			Body: "This server's setup code no longer works (it started while accounts existed, or too many wrong codes were tried). Restart the server: it prints a new setup code to its terminal and log."})
		return true
	}
	return false
}

func (h *Handler) setupPage(w http.ResponseWriter, r *http.Request) {
	if h.setupGone(w, r) {
		return
	}
	h.render(w, r, http.StatusOK, "setup", nil, &pageData{Title: "Set up Agent Vault", Admin: &setupView{CSRF: h.loginCSRF(w, r)}})
}

func (h *Handler) setupPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	if h.setupGone(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	fail := func(status int, msg string) {
		h.render(w, r, status, "setup", nil, &pageData{Title: "Set up Agent Vault", Error: msg,
			Admin: &setupView{CSRF: h.loginCSRF(w, r), Email: email}})
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
	var out apitype.RegisterResponse
	err := h.guarded(r, "failed setup attempts", func(ctx context.Context) error {
		var err error
		out, err = h.b.Register(ctx, apitype.Credentials{Email: email, Password: pw, DeviceLabel: deviceLabel, SetupCode: r.PostFormValue("code")})
		return err
	})
	if err != nil {
		fail(statusOf(err), message(err))
		return
	}
	if !out.Authenticated { // someone else created the first account meanwhile
		fail(http.StatusConflict, "Another account became the owner while you filled in this form; yours was created as a member. Log in, and ask the owner for the role you need.")
		return
	}
	h.setSession(w, r, out.Token)
	h.setCookie(w, r, loginCookie, "", -1)
	redirectAdmin(w, r, "/vaults", "owner-created")
}
