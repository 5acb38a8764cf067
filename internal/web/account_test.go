package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestRegisterOpenAndInviteOnly(t *testing.T) {
	e := newEnv(t, "")
	no := false
	if _, err := e.b.UpdateInstanceSettings(context.Background(), e.owner, apitype.InstanceSettings{InviteOnly: &no}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	p := b.form("/register", url.Values{"email": {"new@example.com"}, "password": {"new-pass-1"}, "confirm": {"new-pass-2"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="new@example.com"`) || strings.Contains(p.body, "new-pass-1") {
		t.Errorf("different passwords: %d (the form keeps the email, never the password)", p.status)
	}
	p = b.form("/register", url.Values{"email": {"new@example.com"}, "password": {"new-pass-1"}, "confirm": {"new-pass-1"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults?done=registered" {
		t.Fatalf("register: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	a, err := e.b.Authenticate(context.Background(), b.cookie(SessionCookie))
	if err != nil || a.User.Email != "new@example.com" || string(a.Role()) != "member" {
		t.Fatalf("after registering: %v %q %q", err, a.User.Email, a.Role())
	}
	// Registering in a browser logged in as someone else logs that account out.
	o := e.as(ownerEmail, ownerPW)
	ownerTok := o.cookie(SessionCookie)
	if p := o.form("/register", url.Values{"email": {"second@example.com"}, "password": {"second-pass-1"}, "confirm": {"second-pass-1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("registering while logged in: %d\n%s", p.status, p.body)
	}
	if _, err := e.b.Authenticate(context.Background(), ownerTok); err == nil {
		t.Error("the earlier account's session outlived the switch")
	}
	yes := true
	if _, err := e.b.UpdateInstanceSettings(context.Background(), e.owner, apitype.InstanceSettings{InviteOnly: &yes}); err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	if p := c.get("/register"); p.status != http.StatusForbidden || !strings.Contains(p.body, "invite-only") || strings.Contains(p.body, `id="register-form"`) {
		t.Errorf("GET /register when invite-only: %d", p.status)
	}
	c.get("/login")
	if p := c.post("/register", url.Values{"csrf": {c.csrf()}, "email": {"late@example.com"}, "password": {"late-pass-1"}, "confirm": {"late-pass-1"}}); p.status != http.StatusForbidden {
		t.Errorf("POST /register when invite-only: %d", p.status)
	}
}

func TestForgotWithoutEmailSaysWhatToDo(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	p := b.form("/forgot", url.Values{"email": {ownerEmail}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "sends no email") {
		t.Errorf("forgot on a server without email: %d\n%s", p.status, p.body)
	}
	if p := b.form("/reset", url.Values{"email": {ownerEmail}, "code": {"000000"}, "password": {"new-pass-1"}, "confirm": {"new-pass-1"}}); p.status < 400 {
		t.Errorf("a made-up reset code: %d", p.status)
	}
	if _, err := e.b.Login(context.Background(), apitype.Credentials{Email: ownerEmail, Password: ownerPW}); err != nil {
		t.Error("a made-up reset code changed the password")
	}
}

// A wrong reset code is a guess: it spends the budget.
func TestResetCodeGuessesAreCounted(t *testing.T) {
	e := newEnvLimited(t, "", authLimiter(t, 2))
	b := e.browser()
	for range 2 {
		b.form("/reset", url.Values{"email": {ownerEmail}, "code": {"123456"}, "password": {"new-pass-1"}, "confirm": {"new-pass-1"}})
	}
	if p := b.form("/reset", url.Values{"email": {ownerEmail}, "code": {"123456"}, "password": {"new-pass-1"}, "confirm": {"new-pass-1"}}); p.status != http.StatusTooManyRequests {
		t.Errorf("over the budget: %d", p.status)
	}
}

func TestAccountChangePassword(t *testing.T) {
	e := newEnvLimited(t, "", authLimiter(t, 2))
	b := e.as(ownerEmail, ownerPW)
	other := e.as(ownerEmail, ownerPW) // a second session
	p := b.form("/account", url.Values{"action": {"password"}, "current_password": {"wrong-password"}, "new_password": {"brand-new-1"}, "confirm": {"brand-new-1"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "not changed") || strings.Contains(p.body, "brand-new-1") {
		t.Fatalf("a wrong current password: %d\n%s", p.status, p.body)
	}
	p = b.form("/account", url.Values{"action": {"password"}, "current_password": {ownerPW}, "new_password": {"brand-new-1"}, "confirm": {"brand-new-1"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/account?done=password-changed" {
		t.Fatalf("changing: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := b.get(p.header.Get("Location")); p.status != http.StatusOK || !strings.Contains(p.body, "Your password is changed") {
		t.Errorf("this browser must stay logged in with a flash: %d", p.status)
	}
	if p := other.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("the other session survived the password change: %d", p.status)
	}
	if _, err := e.b.Login(context.Background(), apitype.Credentials{Email: ownerEmail, Password: "brand-new-1"}); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	// One wrong current password was spent; a second fills the budget of 2.
	b.form("/account", url.Values{"action": {"password"}, "current_password": {"wrong-again"}, "new_password": {"brand-new-2"}, "confirm": {"brand-new-2"}})
	if p := b.form("/account", url.Values{"action": {"password"}, "current_password": {"brand-new-1"}, "new_password": {"brand-new-2"}, "confirm": {"brand-new-2"}}); p.status != http.StatusTooManyRequests {
		t.Errorf("wrong current passwords must spend the failed-login budget: %d", p.status)
	}
}

func TestAccountSessions(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	other := e.as(ownerEmail, ownerPW)
	list, err := e.b.ListSessions(context.Background(), e.auth(other.cookie(SessionCookie)))
	if err != nil {
		t.Fatal(err)
	}
	otherID := ""
	for _, s := range list.Sessions {
		if s.Current {
			otherID = s.ID
		}
	}
	p := b.get("/account")
	if !strings.Contains(p.body, `value="`+otherID+`"`) || !strings.Contains(p.body, "this browser") {
		t.Fatalf("the sessions table lacks the other session or the current mark:\n%s", p.body)
	}
	if p := b.form("/account", url.Values{"action": {"revoke-session"}, "id": {otherID}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoking: %d\n%s", p.status, p.body)
	}
	if p := other.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("the revoked session still works: %d", p.status)
	}
	// Someone else's session id is not found for this user.
	mallory := e.addUser("mallory@example.com", "mallory-pass-1", "", "")
	ml, _ := e.b.ListSessions(context.Background(), mallory)
	if p := b.form("/account", url.Values{"action": {"revoke-session"}, "id": {ml.Sessions[0].ID}}); p.status != http.StatusNotFound {
		t.Errorf("revoking another user's session: %d", p.status)
	}
	if _, err := e.b.Me(context.Background(), mallory); err != nil {
		t.Error("another user's session was revoked")
	}
}

func TestAccountDeleteNeedsTypedEmail(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("leaver@example.com", "leaver-pass-1", "default", "member")
	b := e.as("leaver@example.com", "leaver-pass-1")
	if p := b.form("/account", url.Values{"action": {"delete"}, "confirm": {"someone@example.com"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Nothing was deleted") {
		t.Fatalf("a wrong confirmation: %d", p.status)
	}
	if p := b.form("/account", url.Values{"action": {"delete"}, "confirm": {"leaver@example.com"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?done=account-deleted" {
		t.Fatalf("deleting: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if _, err := e.b.Login(context.Background(), apitype.Credentials{Email: "leaver@example.com", Password: "leaver-pass-1"}); err == nil {
		t.Error("the deleted account can still log in")
	}
	// The last owner cannot delete themself: the broker says so.
	o := e.as(ownerEmail, ownerPW)
	if p := o.form("/account", url.Values{"action": {"delete"}, "confirm": {ownerEmail}}); p.status < 400 {
		t.Errorf("the last owner deleted their account: %d", p.status)
	}
}
