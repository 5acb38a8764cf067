package web

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
)

// The entry pages: / sends the browser where it can start, and /setup
// creates the owner account on a fresh instance. A stranger who reaches
// a fresh port first must not be able to claim the instance, so the page
// asks for the one-time setup code that the server printed to its
// terminal and log when it started without an account. A wrong code is a
// wrong guess: it spends the address's failed-login budget.

// setupAlphabet has no look-alike characters (no 0/O, 1/I/L).
const setupAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewSetupCode returns a fresh setup code: 20 characters of a
// 31-character alphabet (about 98 bits), in groups of five.
func NewSetupCode() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness for the setup code: " + err.Error())
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			sb.WriteByte('-')
		}
		// 256 is no multiple of 31: the first 8 letters are a little more
		// likely, which costs well under a bit over the whole code.
		sb.WriteByte(setupAlphabet[int(c)%len(setupAlphabet)])
	}
	return sb.String()
}

// normalizeSetupCode ignores case, spaces and dashes, so that a code
// copied with or without its grouping works.
func normalizeSetupCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

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
	if need, err := h.needsOwner(r); err == nil && need && h.setupCode != "" {
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
	if h.setupCode == "" {
		h.render(w, r, http.StatusNotFound, "message", nil, &pageData{Title: "First run", Heading: "Create the owner account from a terminal",
			Body: "This server does not offer the first-run page. Create the owner account with `agent-vault auth register`."})
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

// errWrongSetupCode is a wrong guess (broker.WrongGuess): unauthorized.
func errWrongSetupCode() error {
	return errs.Unauthorized("the setup code is wrong: copy it from the line \"first run: … setup code\" in the server's terminal or log").WithCode("invalid_setup_code")
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
	err := h.guarded(r, "failed setup attempts", func(context.Context) error {
		if !equal(normalizeSetupCode(r.PostFormValue("code")), normalizeSetupCode(h.setupCode)) {
			return errWrongSetupCode()
		}
		return nil
	})
	if err != nil {
		fail(statusOf(err), message(err))
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		fail(http.StatusBadRequest, "The two passwords differ. Type the same one twice.")
		return
	}
	out, err := h.b.Register(r.Context(), apitype.Credentials{Email: email, Password: pw, DeviceLabel: deviceLabel})
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
