package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

func TestFirstUserBecomesOwnerAndRegistrationCloses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st, err := e.anon().Status(ctx)
	if err != nil || st.Initialized || !st.NeedsFirstUser {
		t.Fatalf("fresh status = %+v, %v", st, err)
	}
	reg, err := e.anon().Register(ctx, apitype.Credentials{Email: " Owner@Example.com ", Password: "owner-password", SetupCode: setupCode})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Role != "owner" || !reg.Authenticated || !strings.HasPrefix(reg.Token, "av_sess_") || len(reg.Token) != len("av_sess_")+64 {
		t.Fatalf("register = %+v", reg)
	}
	if reg.Email != "owner@example.com" {
		t.Errorf("email not normalised: %q", reg.Email)
	}
	me, err := e.as(reg.Token).Me(ctx)
	if err != nil || me.Role != "owner" || !me.IsOwner || me.Type != "user" {
		t.Fatalf("me = %+v, %v", me, err)
	}
	vs, err := e.as(reg.Token).Vaults(ctx)
	if err != nil || len(vs.Vaults) != 1 || vs.Vaults[0].Name != "default" || vs.Vaults[0].Role != "admin" {
		t.Fatalf("owner's vaults = %+v, %v", vs, err)
	}
	_, err = e.anon().Register(ctx, apitype.Credentials{Email: "second@example.com", Password: "password2"})
	if !client.IsForbidden(err) || !strings.Contains(err.Error(), "invite") {
		t.Fatalf("second register = %v, want 403 invite-only", err)
	}
	// The owner opens registration; the next account is a plain member, not logged in.
	open := false
	if _, err := e.as(reg.Token).UpdateInstanceSettings(ctx, apitype.InstanceSettings{InviteOnly: &open}); err != nil {
		t.Fatal(err)
	}
	r2, err := e.anon().Register(ctx, apitype.Credentials{Email: "second@example.com", Password: "password2"})
	if err != nil || r2.Role != "member" || r2.Token != "" || r2.Authenticated {
		t.Fatalf("open register = %+v, %v", r2, err)
	}
	// Registering the address again answers as for a new account (the
	// answer never tells whether an address is registered) and changes
	// nothing: the first password stays.
	r3, err := e.anon().Register(ctx, apitype.Credentials{Email: "SECOND@example.com", Password: "password3"})
	if err != nil || r3 != r2 {
		t.Fatalf("duplicate register = %+v, %v; want the same answer as %+v", r3, err, r2)
	}
	if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "second@example.com", Password: "password3"}); !client.IsUnauthorized(err) {
		t.Errorf("the second registration's password logs in: %v", err)
	}
	if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "second@example.com", Password: "password2"}); err != nil {
		t.Errorf("the account's own password: %v", err)
	}
}

func TestLoginFailuresLookTheSame(t *testing.T) {
	e := newEnv(t)
	e.owner()
	ctx := context.Background()
	_, errWrong := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "not-the-password"})
	_, errUnknown := e.anon().Login(ctx, apitype.Credentials{Email: "nobody@example.com", Password: "not-the-password"})
	if !client.IsUnauthorized(errWrong) || !client.IsUnauthorized(errUnknown) {
		t.Fatalf("got %v / %v, want 401 for both", errWrong, errUnknown)
	}
	if errWrong.Error() != errUnknown.Error() {
		t.Errorf("wrong password and unknown email answer differently: %q vs %q", errWrong, errUnknown)
	}
}

func TestSessionsListRevokeLogoutAndChangePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	second, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password", DeviceLabel: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := own.Sessions(ctx)
	if err != nil || len(list.Sessions) != 2 {
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	var other string
	for _, s := range list.Sessions {
		if !s.Current {
			other = s.ID
			if s.DeviceLabel != "laptop" {
				t.Errorf("device label = %q", s.DeviceLabel)
			}
		}
	}
	if _, err := own.RevokeSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as(second.Token).Me(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("revoked session still works: %v", err)
	}
	if _, err := own.RevokeSession(ctx, "no-such-session"); !client.IsNotFound(err) {
		t.Fatalf("revoke unknown = %v, want 404", err)
	}

	third, _ := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	_, err = own.ChangePassword(ctx, apitype.ChangePasswordRequest{CurrentPassword: "wrong-password", NewPassword: "new-password"})
	if !client.IsUnauthorized(err) {
		t.Fatalf("change with wrong current = %v, want 401", err)
	}
	fresh, err := own.ChangePassword(ctx, apitype.ChangePasswordRequest{CurrentPassword: "owner-password", NewPassword: "new-password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.as(third.Token).Me(ctx); !client.IsUnauthorized(err) {
		t.Errorf("other session survived a password change: %v", err)
	}
	if _, err := own.Me(ctx); !client.IsUnauthorized(err) {
		t.Errorf("the old current session survived a password change: %v", err)
	}
	if _, err := e.as(fresh.Token).Me(ctx); err != nil {
		t.Errorf("new session does not work: %v", err)
	}
	if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"}); !client.IsUnauthorized(err) {
		t.Errorf("old password still logs in: %v", err)
	}
	if _, err := e.as(fresh.Token).Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as(fresh.Token).Me(ctx); !client.IsUnauthorized(err) {
		t.Errorf("session works after logout: %v", err)
	}
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	// Used every 29 days, the session slides past the 30-day idle limit...
	for range 3 {
		e.clock.Advance(29 * 24 * time.Hour)
		if _, err := own.Me(ctx); err != nil {
			t.Fatalf("active session expired early: %v", err)
		}
	}
	// ...but not after 31 idle days.
	e.clock.Advance(31 * 24 * time.Hour)
	if _, err := own.Me(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("idle session = %v, want 401", err)
	}
	// A session used daily still ends after a year.
	tok, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		t.Fatal(err)
	}
	for range 13 {
		e.clock.Advance(28 * 24 * time.Hour)
		_, _ = e.as(tok.Token).Me(ctx)
	}
	e.clock.Advance(2 * 24 * time.Hour) // 366 days after login
	if _, err := e.as(tok.Token).Me(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("session older than a year = %v, want 401", err)
	}
}

func TestDeleteAccountAndLastOwner(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	if _, err := own.DeleteAccount(ctx); !client.IsConflict(err) {
		t.Fatalf("last owner deleting itself = %v, want 409", err)
	}
	if _, err := own.AdminSetRole(ctx, "me", "member"); !client.IsConflict(err) {
		t.Fatalf("last owner demoting itself = %v, want 409", err)
	}
	bob := e.invite(own, "bob@example.com", "owner")
	if _, err := own.DeleteAccount(ctx); err != nil {
		t.Fatalf("owner deleting itself with another owner: %v", err)
	}
	if _, err := bob.AdminDeleteUser(ctx, "bob@example.com", ""); !client.IsConflict(err) {
		t.Fatalf("deleting the now-last owner = %v, want 409", err)
	}
	us, err := bob.Users(ctx)
	if err != nil || len(us.Users) != 1 || us.Users[0].Email != "bob@example.com" {
		t.Fatalf("users = %+v, %v", us, err)
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg, err := e.anon().Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password-XYZ", SetupCode: setupCode})
	if err != nil {
		t.Fatal(err)
	}
	own := e.as(reg.Token)
	inv, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.anon().InviteDetails(ctx, inv.Token)
	_, _ = e.anon().AcceptInvite(ctx, inv.Token, "bob-password-XYZ")
	_, _ = e.anon().Login(ctx, apitype.Credentials{Email: "bob@example.com", Password: "wrong-password-XYZ"})
	logs := e.logs.String()
	if !strings.Contains(logs, "/v1/auth/login") {
		t.Fatalf("request log missing; logs:\n%s", logs)
	}
	for _, s := range []string{reg.Token, inv.Token, "owner-password-XYZ", "bob-password-XYZ", "wrong-password-XYZ"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains secret %q", s)
		}
	}
}
