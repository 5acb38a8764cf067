package web

import (
	"net/http"
	"net/url"
	"strings"
)

// Flash messages: after an action succeeds the page redirects (POST, then
// redirect, then GET) with ?done=<id>, and the next page shows the fixed
// sentence of that id. Only ids from this table are shown, so a crafted
// link cannot put words of its author's choosing on the page.
var adminFlashes = map[string]string{
	"owner-created":         "Your owner account is ready. Create a vault, or open the default vault to add credentials.",
	"registered":            "Your account is ready.",
	"password-changed":      "Your password is changed. Your other sessions were logged out.",
	"login-session-revoked": "The session is revoked: that browser or CLI is logged out.",
	"reset-sent":            "If an account exists for that address and email is set up, a reset code is on its way. Enter it below.",
	"password-reset":        "Your password is reset. Log in with the new one.",
	"account-deleted":       "Your account is deleted.",
	"vault-created":         "The vault is created. You are its admin.",
	"vault-renamed":         "The vault is renamed. Agents that named the old vault must use the new name.",
	"vault-deleted":         "The vault is deleted, with its credentials, services and grants.",
	"vault-joined":          "You joined the vault as its admin.",
	"vault-left":            "You left the vault.",
	"policy-saved":          "The unmatched-host policy is saved.",
	"member-added":          "The account already existed, so it was added to the vault directly.",
	"invite-revoked":        "The invitation is revoked: its link no longer works.",
	"role-changed":          "The role is changed.",
	"member-removed":        "The member is removed from the vault.",
	"settings-saved":        "The instance settings are saved.",
	"user-role-changed":     "The user's instance role is changed.",
	"user-removed":          "The user is removed, with their vault roles; their agents were revoked or handed on.",
	"test-email-sent":       "The test email was handed to the mail server. Check the inbox.",
}

// adminFlash is the sentence of the request's ?done= id, or "".
func adminFlash(r *http.Request) string {
	return adminFlashes[r.URL.Query().Get("done")]
}

// redirectAdmin answers a successful POST with a redirect to path that
// shows the flash message id.
func redirectAdmin(w http.ResponseWriter, r *http.Request, path, id string) {
	if _, ok := adminFlashes[id]; !ok {
		panic("web: unknown flash message " + id)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"done="+url.QueryEscape(id), http.StatusSeeOther)
}
