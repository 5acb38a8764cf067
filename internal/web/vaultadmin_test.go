package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestVaultCreateRenamePolicyDelete(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	p := b.form("/vaults", url.Values{"action": {"create"}, "name": {"Bad Name!"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="Bad Name!"`) {
		t.Errorf("an invalid name: %d (the form keeps what was typed)", p.status)
	}
	p = b.form("/vaults", url.Values{"action": {"create"}, "name": {"payments"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults/payments?done=vault-created" {
		t.Fatalf("create: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	p = b.form("/vaults/payments/settings", url.Values{"action": {"policy"}, "unmatched_host_policy": {"deny"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("policy: %d\n%s", p.status, p.body)
	}
	if vs, _ := e.b.VaultSettings(context.Background(), e.owner, "payments"); vs.UnmatchedHostPolicy != "deny" {
		t.Errorf("policy = %q", vs.UnmatchedHostPolicy)
	}
	if p := b.get("/vaults/payments/settings"); !strings.Contains(p.body, `<option value="deny" selected>`) {
		t.Errorf("the settings page does not show the saved policy")
	}
	p = b.form("/vaults/payments/settings", url.Values{"action": {"rename"}, "new_name": {"billing"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults/billing/settings?done=vault-renamed" {
		t.Fatalf("rename: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	p = b.form("/vaults/billing/settings", url.Values{"action": {"delete"}, "confirm": {"billin"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Nothing was deleted") {
		t.Fatalf("delete with a wrong confirmation: %d", p.status)
	}
	if !vaultExists(t, e, "billing") {
		t.Fatal("a wrong confirmation deleted the vault")
	}
	p = b.form("/vaults/billing/settings", url.Values{"action": {"delete"}, "confirm": {"billing"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults?done=vault-deleted" {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	if vaultExists(t, e, "billing") {
		t.Fatal("the vault is still there")
	}
}

func vaultExists(t *testing.T, e *env, name string) bool {
	t.Helper()
	all, err := e.b.AdminListVaults(context.Background(), e.owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all.Vaults {
		if v.Name == name {
			return true
		}
	}
	return false
}

func TestVaultJoinAndLeave(t *testing.T) {
	e := newEnv(t, "")
	alice := e.addUser("alice@example.com", "alice-pass-1", "", "")
	if _, err := e.b.CreateVault(context.Background(), alice, apitype.CreateVaultRequest{Name: "alices"}); err != nil {
		t.Fatal(err)
	}
	b := e.as(ownerEmail, ownerPW)
	if p := b.get("/vaults"); !strings.Contains(p.body, `name="action" value="join"`) {
		t.Fatalf("no join button for a vault the owner is not in:\n%s", p.body)
	}
	if p := b.form("/vaults", url.Values{"action": {"join"}, "name": {"alices"}}); p.status != http.StatusSeeOther {
		t.Fatalf("join: %d\n%s", p.status, p.body)
	}
	if p := b.get("/vaults/alices/settings"); p.status != http.StatusOK || !strings.Contains(p.body, "Your role: <strong>admin") {
		t.Fatalf("after joining: %d", p.status)
	}
	if p := b.form("/vaults/alices/settings", url.Values{"action": {"leave"}}); p.status != http.StatusSeeOther {
		t.Fatalf("leave: %d\n%s", p.status, p.body)
	}
	users, err := e.b.ListVaultUsers(context.Background(), alice, "alices")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		if u.Email == ownerEmail {
			t.Fatalf("the owner is still in the vault after leaving: %+v", u)
		}
	}
	if p := b.get("/vaults"); !strings.Contains(p.body, `name="action" value="join"`) {
		t.Error("after leaving, the vaults page offers no Join again")
	}
	// A member (not an owner) cannot join a vault they are not in.
	bob := e.addUser("bob@example.com", "bob-pass-1", "", "")
	_ = bob
	bb := e.as("bob@example.com", "bob-pass-1")
	if p := bb.form("/vaults", url.Values{"action": {"join"}, "name": {"alices"}}); p.status < 400 {
		t.Errorf("a member joined another's vault: %d", p.status)
	}
}

// Members and proxies of a vault cannot change it: the broker refuses
// and the page says so.
func TestVaultSettingsRefusedToNonAdmins(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("mem@example.com", "mem-pass-1", "default", "member")
	b := e.as("mem@example.com", "mem-pass-1")
	if p := b.get("/vaults/default/settings"); p.status != http.StatusOK || strings.Contains(p.body, `id="rename-form"`) || strings.Contains(p.body, `id="delete-vault-form"`) || !strings.Contains(p.body, `id="policy-readonly"`) {
		t.Errorf("a member's settings page: %d, or it offers the admins' forms", p.status)
	}
	b.get("/account") // the forms below are posted by hand, as an attacker would
	csrf := b.csrf()
	for _, form := range []url.Values{
		{"action": {"rename"}, "new_name": {"stolen"}},
		{"action": {"policy"}, "unmatched_host_policy": {"deny"}},
		{"action": {"delete"}, "confirm": {"default"}},
	} {
		form.Set("csrf", csrf)
		if p := b.post("/vaults/default/settings", form); p.status != http.StatusForbidden {
			t.Errorf("%s by a member: %d", form.Get("action"), p.status)
		}
	}
	if !vaultExists(t, e, "default") {
		t.Fatal("a member deleted or renamed the vault")
	}
	if vs, _ := e.b.VaultSettings(context.Background(), e.owner, "default"); vs.UnmatchedHostPolicy != "passthrough" {
		t.Error("a member changed the policy")
	}
	// Someone outside the vault does not even see it.
	e.addUser("out@example.com", "out-pass-1", "", "")
	o := e.as("out@example.com", "out-pass-1")
	if p := o.get("/vaults/default/settings"); p.status != http.StatusNotFound || strings.Contains(p.body, "settings-form") {
		t.Errorf("an outsider's settings page: %d", p.status)
	}
}

// TestAdminPostsWithoutASessionGoToLogin: every admin page's POST sends a
// browser without a session to the login page, which comes back to the
// page, and changes nothing (TestAdminFormsRefuseForgedPosts covers the
// forms' token).
func TestAdminPostsWithoutASessionGoToLogin(t *testing.T) {
	e := newEnv(t, "")
	for _, tc := range []struct {
		page string
		form url.Values
	}{
		{"/account", url.Values{"action": {"delete"}, "confirm": {ownerEmail}}},
		{"/instance", url.Values{"action": {"invite"}, "email": {"forged@example.com"}, "role": {"owner"}}},
		{"/vaults", url.Values{"action": {"create"}, "name": {"forged"}}},
		{"/vaults/default/settings", url.Values{"action": {"rename"}, "new_name": {"forged"}}},
		{"/vaults/default/members", url.Values{"action": {"invite"}, "email": {"forged@example.com"}, "role": {"admin"}}},
	} {
		p := e.browser().post(tc.page, tc.form)
		if want := "/login?next=" + url.QueryEscape(tc.page); p.status != http.StatusSeeOther || p.header.Get("Location") != want {
			t.Errorf("%s without a session: %d to %q, want 303 to %q", tc.page, p.status, p.header.Get("Location"), want)
		}
	}
	if vaultExists(t, e, "forged") || !vaultExists(t, e, "default") {
		t.Error("a post without a session created or renamed a vault")
	}
	invs, _ := e.b.ListInvites(context.Background(), e.owner)
	if len(invs.Invites) != 0 {
		t.Errorf("a post without a session invited someone: %+v", invs.Invites)
	}
	if p := e.as(ownerEmail, ownerPW).get("/account"); p.status != http.StatusOK {
		t.Error("a post without a session deleted the account")
	}
}
