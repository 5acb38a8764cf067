package web

import (
	"net/http"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The invite page: the link an invitee gets (by email, or from whoever
// invited them) opens a form that sets the account's password, then logs
// them in. The token in the path is the credential; the page's
// Referrer-Policy keeps it from leaking to other sites.

func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	d := &pageData{Title: "Accept your invitation", FormAction: "/invite/" + url.PathEscape(tok)}
	inv, err := h.b.InviteDetails(r.Context(), tok)
	if err != nil {
		h.render(w, r, statusOf(err), "message", nil, &pageData{Title: "Invitation", Heading: "This invitation cannot be used",
			Body: message(err), Link: "/login", LinkText: "Log in"})
		return
	}
	d.Invite, d.CSRF = &inv, h.loginCSRF(w, r)
	h.render(w, r, http.StatusOK, "invite", nil, d)
}

func (h *Handler) invitePost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	tok := r.PathValue("token")
	inv, err := h.b.InviteDetails(r.Context(), tok)
	if err != nil {
		h.render(w, r, statusOf(err), "message", nil, &pageData{Title: "Invitation", Heading: "This invitation cannot be used",
			Body: message(err), Link: "/login", LinkText: "Log in"})
		return
	}
	fail := func(status int, msg string) {
		h.render(w, r, status, "invite", nil, &pageData{Title: "Accept your invitation", FormAction: "/invite/" + url.PathEscape(tok),
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
	acc, err := h.b.AcceptInvite(r.Context(), tok, apitype.AcceptInviteRequest{Password: pw})
	if err != nil {
		fail(statusOf(err), message(err))
		return
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
