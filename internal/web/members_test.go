package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var inviteLinkRE = regexp.MustCompile(`id="invite-link"[^>]* value="([^"]+)"`)

func TestMembersInviteRoleRemove(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	p := b.get("/vaults/default/members")
	if p.status != http.StatusOK || !strings.Contains(p.body, "No pending invitations") {
		t.Fatalf("members page: %d\n%s", p.status, p.body)
	}
	p = b.form("/vaults/default/members", url.Values{"action": {"invite"}, "email": {"not-an-email"}, "role": {"member"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="not-an-email"`) {
		t.Errorf("a bad address: %d (the form keeps it)", p.status)
	}
	p = b.form("/vaults/default/members", url.Values{"action": {"invite"}, "email": {"carol@example.com"}, "role": {"member"}})
	m := inviteLinkRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || !strings.Contains(m[1], "/invite/av_uinv_") {
		t.Fatalf("invite: %d, link %v\n%s", p.status, m, p.body)
	}
	if !strings.Contains(p.body, "sends no email") {
		t.Error("without SMTP the page must say to hand the link over")
	}
	// The pending invite is listed, without its link.
	p = b.get("/vaults/default/members")
	if !strings.Contains(p.body, "carol@example.com") || strings.Contains(p.body, "av_uinv_") {
		t.Fatalf("pending invites: the invite is missing, or its link shows again:\n%s", p.body)
	}
	// Accept through the invite page, then change the role and remove.
	u, _ := url.Parse(m[1])
	c := e.browser()
	c.get(u.Path)
	if p := c.post(u.Path, url.Values{"csrf": {c.csrf()}, "password": {"carol-pass-1"}, "confirm": {"carol-pass-1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("accepting: %d", p.status)
	}
	if p := b.form("/vaults/default/members", url.Values{"action": {"role"}, "email": {"carol@example.com"}, "role": {"admin"}}); p.status != http.StatusSeeOther {
		t.Fatalf("role: %d\n%s", p.status, p.body)
	}
	if role := vaultRoleOf(t, e, "default", "carol@example.com"); role != "admin" {
		t.Fatalf("carol's role = %q", role)
	}
	// Remove asks first; only the confirmed form removes.
	p = b.form("/vaults/default/members", url.Values{"action": {"remove"}, "email": {"carol@example.com"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="confirm-remove"`) || vaultRoleOf(t, e, "default", "carol@example.com") == "" {
		t.Fatalf("the first Remove press must only ask: %d", p.status)
	}
	p = b.form("/vaults/default/members", url.Values{"action": {"remove"}, "email": {"carol@example.com"}, "confirm": {"yes"}})
	if p.status != http.StatusSeeOther || vaultRoleOf(t, e, "default", "carol@example.com") != "" {
		t.Fatalf("remove: %d\n%s", p.status, p.body)
	}
	// An address with an account is added directly.
	p = b.form("/vaults/default/members", url.Values{"action": {"invite"}, "email": {"carol@example.com"}, "role": {"member"}})
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.header.Get("Location"), "done=member-added") {
		t.Fatalf("re-adding an existing account: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
}

func TestMembersRevokeInvite(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	p := b.form("/vaults/default/members", url.Values{"action": {"invite"}, "email": {"dave@example.com"}, "role": {"member"}})
	link := inviteLinkRE.FindStringSubmatch(p.body)[1]
	invs, err := e.b.ListInvites(context.Background(), e.owner)
	if err != nil || len(invs.Invites) != 1 {
		t.Fatalf("invites: %v %v", err, invs)
	}
	if p := b.form("/vaults/default/members", url.Values{"action": {"revoke-invite"}, "id": {invs.Invites[0].ID}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", p.status, p.body)
	}
	u, _ := url.Parse(link)
	if p := e.browser().get(u.Path); p.status == http.StatusOK {
		t.Error("the revoked link still opens the form")
	}
}

// A plain member of a vault can see its members but not manage them.
func TestMembersManagedByAdminsOnly(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("mem@example.com", "mem-pass-1", "default", "member")
	e.addUser("other@example.com", "other-pass-1", "default", "member")
	b := e.as("mem@example.com", "mem-pass-1")
	if p := b.get("/vaults/default/members"); p.status != http.StatusOK || strings.Contains(p.body, `id="invite-form"`) || strings.Contains(p.body, `value="role"`) || !strings.Contains(p.body, "other@example.com") {
		t.Errorf("a member's view of the members page: %d, or it offers the admins' forms", p.status)
	}
	if p := b.get("/vaults/default/members"); strings.Contains(p.body, "<th></th>") {
		t.Error("a member's members table has a column header without a name (the admins' Remove column)")
	}
	b.get("/account") // the forms below are posted by hand, as an attacker would
	csrf := b.csrf()
	for _, form := range []url.Values{
		{"action": {"role"}, "email": {"other@example.com"}, "role": {"admin"}},
		{"action": {"role"}, "email": {"mem@example.com"}, "role": {"admin"}}, // self-promotion
		{"action": {"remove"}, "email": {"other@example.com"}, "confirm": {"yes"}},
	} {
		form.Set("csrf", csrf)
		if p := b.post("/vaults/default/members", form); p.status != http.StatusForbidden {
			t.Errorf("%s %s by a member: %d", form.Get("action"), form.Get("email"), p.status)
		}
	}
	if vaultRoleOf(t, e, "default", "mem@example.com") != "member" || vaultRoleOf(t, e, "default", "other@example.com") != "member" {
		t.Fatal("a member changed roles")
	}
}

func vaultRoleOf(t *testing.T, e *env, vault, email string) string {
	t.Helper()
	list, err := e.b.ListVaultUsers(context.Background(), e.owner, vault)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range list.Users {
		if u.Email == email && u.Status != "pending" {
			return u.Role
		}
	}
	return ""
}
