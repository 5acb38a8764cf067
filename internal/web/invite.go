package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The invite page: the link an invitee gets (by email, or from whoever
// invited them) opens a form that sets the account's password, then logs
// them in. The token in the path is the credential; the page's
// Referrer-Policy keeps it from leaking to other sites.

// inviteDetails looks the token up behind the address's failure budget,
// as the API's invite routes do: an unknown, used or expired token spends
// it.
func (h *Handler) inviteDetails(r *http.Request, tok string) (apitype.InviteDetails, error) {
	var inv apitype.InviteDetails
	err := h.guarded(r, "failed attempts", func(ctx context.Context) error {
		var err error
		inv, err = h.b.InviteDetails(ctx, tok)
		return err
	})
	return inv, err
}

func (h *Handler) inviteUnusable(w http.ResponseWriter, r *http.Request, err error) {
	h.render(w, r, statusOf(err), "message", nil, &pageData{Title: "Invitation", Heading: "This invitation cannot be used",
		Body: message(err), Link: "/login", LinkText: "Log in"})
}

// usableInvite reads the path's token and its invite, answering the page
// itself when it cannot be used.
func (h *Handler) usableInvite(w http.ResponseWriter, r *http.Request) (string, apitype.InviteDetails, bool) {
	tok := r.PathValue("token")
	inv, err := h.inviteDetails(r, tok)
	if err != nil {
		h.inviteUnusable(w, r, err)
		return "", inv, false
	}
	return tok, inv, true
}

func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	tok, inv, ok := h.usableInvite(w, r)
	if !ok {
		return
	}
	s := h.currentSession(r)
	d := &pageData{Title: "Accept your invitation", FormAction: "/invite/" + url.PathEscape(tok), Invite: &inv, CSRF: h.loginCSRF(w, r)}
	if s.loggedIn() {
		d.Notice = "You are logged in as " + s.email() + " in this browser: accepting logs you out of that account and into the new one."
	}
	h.render(w, r, http.StatusOK, "invite", s, d)
}

func (h *Handler) invitePost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	tok, inv, ok := h.usableInvite(w, r)
	if !ok {
		return
	}
	s := h.currentSession(r)
	fail := func(status int, msg string) {
		h.render(w, r, status, "invite", s, &pageData{Title: "Accept your invitation", FormAction: "/invite/" + url.PathEscape(tok),
			Invite: &inv, CSRF: h.loginCSRF(w, r), Error: msg})
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
	var acc apitype.InviteAccepted
	err := h.guarded(r, "failed attempts", func(ctx context.Context) error {
		var err error
		acc, err = h.b.AcceptInvite(ctx, tok, apitype.AcceptInviteRequest{Password: pw})
		return err
	})
	if err != nil {
		fail(statusOf(err), message(err))
		return
	}
	// The browser's earlier account is logged out, not left behind with a
	// live session nobody sees.
	if s.loggedIn() {
		_, _ = h.b.Logout(r.Context(), s.actor)
		h.clearSession(w, r)
	}
	login, err := h.login(r, acc.Email, pw)
	if err != nil { // the account exists; logging in is one step away
		http.Redirect(w, r, "/login?next=%2Fvaults", http.StatusSeeOther)
		return
	}
	h.setSession(w, r, login.Token)
	h.setCookie(w, r, loginCookie, "", -1)
	http.Redirect(w, r, "/vaults", http.StatusSeeOther)
}
