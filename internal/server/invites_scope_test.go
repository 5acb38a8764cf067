package server_test

// Invites carry their sender's rights to the moment they are accepted, and
// are seen and revoked only by those they concern.

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// wantStale checks err is the refusal of an invite whose sender lost a
// right it used.
func wantStale(t *testing.T, what string, err error) {
	t.Helper()
	body := wantAPIErr(t, what, err, http.StatusConflict, "")
	if body.Code != "invite_no_longer_valid" || !strings.Contains(body.Error, "new invite") {
		t.Errorf("%s: %+v; want code invite_no_longer_valid and what to do", what, body)
	}
}

// An invite is re-checked against its sender's rights when shown and when
// accepted; one that fails is refused whole: no account is created.
func TestInviteIsRecheckedAtAccept(t *testing.T) {
	cases := []struct {
		name string
		role string // the invite's instance role
		// lose takes a right away from alice, the sender, after she invited.
		lose func(t *testing.T, f *cfx, alice *client.Client, vault string)
	}{
		{"sender lost the vault's admin role", "member", func(t *testing.T, f *cfx, _ *client.Client, v string) {
			_, err := f.own.JoinVault(cbg, v)
			mustOK(t, "owner joins", err)
			_, err = f.own.SetVaultUserRole(cbg, v, "alice@example.com", "member")
			mustOK(t, "demote alice in the vault", err)
		}},
		{"sender left the vault", "member", func(t *testing.T, f *cfx, alice *client.Client, v string) {
			_, err := f.own.JoinVault(cbg, v)
			mustOK(t, "owner joins", err)
			_, err = f.own.SetVaultUserRole(cbg, v, "owner@example.com", "admin")
			mustOK(t, "owner becomes admin", err)
			_, err = alice.LeaveVault(cbg, v)
			mustOK(t, "alice leaves", err)
		}},
		{"sender demoted to no-access", "member", func(t *testing.T, f *cfx, _ *client.Client, _ string) {
			_, err := f.own.AdminSetRole(cbg, "alice@example.com", "no-access")
			mustOK(t, "demote alice", err)
		}},
		{"owner invite, sender no longer owner", "owner", func(t *testing.T, f *cfx, _ *client.Client, _ string) {
			_, err := f.own.AdminSetRole(cbg, "alice@example.com", "member")
			mustOK(t, "demote alice", err)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newCfx(t)
			alice, _ := f.user(t, "alice@example.com")
			if c.role == "owner" {
				_, err := f.own.AdminSetRole(cbg, "alice@example.com", "owner")
				mustOK(t, "make alice owner", err)
			}
			v := mkVault(t, alice, "team")
			inv, err := alice.CreateInvite(cbg, apitype.InviteRequest{Email: "new@example.com", Role: c.role, Vaults: []apitype.UserVault{{VaultName: v, VaultRole: "admin"}}})
			mustOK(t, "alice invites", err)
			f.keep(inv.Token)
			c.lose(t, f, alice, v)

			_, err = f.e.anon().InviteDetails(cbg, inv.Token)
			wantStale(t, "details", err)
			_, err = f.e.anon().AcceptInvite(cbg, inv.Token, "new-user-password")
			wantStale(t, "accept", err)
			f.keep("new-user-password")
			if _, err := f.e.anon().Login(cbg, apitype.Credentials{Email: "new@example.com", Password: "new-user-password"}); err == nil {
				t.Error("a refused invite created the account")
			}
			// A fresh invite to the same address is not blocked by the void one.
			again, err := f.own.CreateInvite(cbg, apitype.InviteRequest{Email: "new@example.com"})
			mustOK(t, "invite the same address again", err)
			f.keep(again.Token)
			_, err = f.e.anon().AcceptInvite(cbg, again.Token, "new-user-password")
			mustOK(t, "accept the fresh invite", err)
		})
	}
}

// The invites of a deleted user are revoked with the account; one whose
// sender is otherwise gone (an upgraded instance's invite without a
// recorded sender) cannot be accepted either.
func TestInviteOfADeletedSender(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice@example.com")
	inv, err := alice.CreateInvite(cbg, apitype.InviteRequest{Email: "new@example.com"})
	mustOK(t, "alice invites", err)
	f.keep(inv.Token)
	_, err = f.own.AdminDeleteUser(cbg, "alice@example.com", "")
	mustOK(t, "delete alice", err)
	_, err = f.e.anon().AcceptInvite(cbg, inv.Token, "new-user-password")
	wantAPIErr(t, "accept an invite of a deleted sender", err, http.StatusGone, "")
	l, err := f.own.Invites(cbg)
	if err != nil || len(l.Invites) != 2 || l.Invites[1].Status != "revoked" || l.Invites[1].CreatedBy != "alice@example.com" {
		t.Errorf("owner's invite list = %+v, %v; want alice's invite revoked, her name kept as its label", l, err)
	}
}

// A still-backed invite with a vault is accepted as before.
func TestInviteStillBackedIsAccepted(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice@example.com")
	v := mkVault(t, alice, "team")
	inv, err := alice.CreateInvite(cbg, apitype.InviteRequest{Email: "new@example.com", Vaults: []apitype.UserVault{{VaultName: v, VaultRole: "member"}}})
	mustOK(t, "alice invites", err)
	f.keep(inv.Token, "new-user-password")
	_, err = f.e.anon().AcceptInvite(cbg, inv.Token, "new-user-password")
	mustOK(t, "accept", err)
	vu, err := alice.VaultUsers(cbg, v)
	if err != nil || len(vu.Users) != 2 {
		t.Errorf("vault users = %+v, %v", vu, err)
	}
}

func inviteEmails(t *testing.T, c *client.Client) []string {
	t.Helper()
	l, err := c.Invites(cbg)
	mustOK(t, "list invites", err)
	var out []string
	for _, i := range l.Invites {
		if i.Status == "pending" {
			out = append(out, i.Email)
		}
	}
	sort.Strings(out)
	return out
}

// Members see and revoke the invites they sent; vault admins those into
// their vaults; owners all. Anyone else is told the invite does not exist.
func TestInviteListAndRevokeScope(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice@example.com") // admin of team
	bob, _ := f.user(t, "bob@example.com")     // member of team
	carol, _ := f.user(t, "carol@example.com") // in no vault
	team := mkVault(t, alice, "team")
	other := mkVault(t, f.own, "other")
	_, err := alice.AddVaultUser(cbg, team, apitype.VaultUserRequest{Email: "bob@example.com", Role: "member"})
	mustOK(t, "add bob", err)
	_, err = alice.AddVaultUser(cbg, team, apitype.VaultUserRequest{Email: "owner@example.com", Role: "admin"})
	mustOK(t, "add owner", err)

	send := func(by *client.Client, email string, vaults ...apitype.UserVault) {
		t.Helper()
		inv, err := by.CreateInvite(cbg, apitype.InviteRequest{Email: email, Vaults: vaults})
		mustOK(t, "invite "+email, err)
		f.keep(inv.Token)
	}
	send(f.own, "o-team@example.com", apitype.UserVault{VaultName: team, VaultRole: "member"}, apitype.UserVault{VaultName: other, VaultRole: "member"})
	send(f.own, "o-plain@example.com")
	send(alice, "a-plain@example.com")
	send(carol, "c-plain@example.com")

	for _, c := range []struct {
		who  string
		as   *client.Client
		want string
	}{
		{"owner", f.own, "a-plain,c-plain,o-plain,o-team"},
		{"team admin", alice, "a-plain,o-team"},
		{"team member", bob, ""},
		{"member in no vault", carol, "c-plain"},
	} {
		got := strings.ReplaceAll(strings.Join(inviteEmails(t, c.as), ","), "@example.com", "")
		if got != c.want {
			t.Errorf("%s sees invites [%s], want [%s]", c.who, got, c.want)
		}
	}
	// alice sees the owner's invite into team, but not that it also grants
	// a vault she has no role in.
	l, _ := alice.Invites(cbg)
	for _, i := range l.Invites {
		if i.Email == "o-team@example.com" && (len(i.Vaults) != 1 || i.Vaults[0].VaultName != team) {
			t.Errorf("alice sees o-team's vaults %+v; want only %s", i.Vaults, team)
		}
	}

	ids := map[string]string{}
	ol, _ := f.own.Invites(cbg)
	for _, i := range ol.Invites {
		ids[i.Email] = i.ID
	}
	for _, c := range []struct {
		who    string
		as     *client.Client
		invite string
		want   int
	}{
		{"team member revokes the owner's team invite", bob, "o-team", 404},
		{"member revokes another member's invite", carol, "a-plain", 404},
		{"team admin revokes the owner's plain invite", alice, "o-plain", 404},
		{"team admin revokes the owner's team invite", alice, "o-team", 200},
		{"member revokes her own", carol, "c-plain", 200},
		{"owner revokes a member's", f.own, "a-plain", 200},
	} {
		_, err := c.as.RevokeInvite(cbg, ids[c.invite+"@example.com"])
		if status(err) != c.want {
			t.Errorf("%s = %v, want %d", c.who, err, c.want)
		}
	}
	ol, _ = f.own.Invites(cbg)
	for _, i := range ol.Invites {
		if i.Status == "accepted" {
			continue
		}
		want := map[string]string{"o-team@example.com": "revoked", "c-plain@example.com": "revoked", "a-plain@example.com": "revoked", "o-plain@example.com": "pending"}[i.Email]
		if i.Status != want {
			t.Errorf("%s is %s, want %s", i.Email, i.Status, want)
		}
	}
	// Agents never see invites, whatever their roles.
	agTok := f.agent(t, f.own, "inv-bot", "owner", apitype.AgentVault{VaultName: team, VaultRole: "admin"})
	_, err = f.e.as(agTok).Invites(cbg)
	wantAPIErr(t, "owner agent listing invites", err, 403, "")
}
