package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type vaultEntry struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Membership string `json:"membership"`
}

type vaultListJSON struct {
	Vaults []vaultEntry `json:"vaults"`
}

func (l vaultListJSON) names() []string {
	var out []string
	for _, v := range l.Vaults {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out
}

func (l vaultListJSON) find(name string) (vaultEntry, bool) {
	for _, v := range l.Vaults {
		if v.Name == name {
			return v, true
		}
	}
	return vaultEntry{}, false
}

type meJSON struct {
	Type    string `json:"type"`
	Email   string `json:"email"`
	Role    string `json:"role"`
	IsOwner bool   `json:"is_owner"`
}

// TestUsersAndVaults walks the multi-user flow through the CLI: the first
// account owns the instance, registration is invite-only, invites grant
// vault roles, roles gate vault operations, the last owner is protected,
// and a password change ends the user's other sessions.
func TestUsersAndVaults(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	bob := newCLI(t, "bob", s.url)
	bob2 := newCLI(t, "bob-laptop", s.url) // bob's second machine
	carol := newCLI(t, "carol", s.url)

	// Owner registers and is logged in at once.
	regOut := owner.ok("owner-pass-1\n", "auth", "register", "--email", "Owner@Example.com", "--setup-code", setupCodeOf(t, s.url))
	mustContain(t, "owner register", regOut, "instance owner", "(owner)")
	if m := mode(t, filepath.Join(owner.dir, "session.json")); m != 0o600 {
		t.Errorf("session.json mode = %o, want 600", m)
	}
	if m := mode(t, owner.dir); m != 0o700 {
		t.Errorf("CLI data dir mode = %o, want 700", m)
	}
	if out := owner.ok("", "account", "whoami"); !strings.Contains(out, "owner@example.com (owner) on "+s.url) {
		t.Errorf("whoami = %q", out)
	}
	var me meJSON
	owner.json(&me, "account", "whoami")
	if me != (meJSON{Type: "user", Email: "owner@example.com", Role: "owner", IsOwner: true}) {
		t.Errorf("whoami --json = %+v", me)
	}

	// Registration is now invite-only: the CLI says so, the API says 403.
	errOut := carol.fail("carol-pass-1\n", "auth", "register", "--email", "carol@example.com")
	mustContain(t, "second register", errOut, "invite-only")
	if _, err := os.Stat(filepath.Join(carol.dir, "session.json")); err == nil {
		t.Errorf("refused registration saved a session")
	}
	r := call(t, http.MethodPost, s.url+"/v1/auth/register", "", map[string]string{"email": "carol@example.com", "password": "carol-pass-1"})
	if r.status != http.StatusForbidden || r.errorBody(t).Code != "invite_only" {
		t.Errorf("POST /v1/auth/register while invite-only = %s, want 403 invite_only", r)
	}

	// Vaults.
	mustContain(t, "vault create", owner.ok("", "vault", "create", "proj"), "Vault proj created.")
	mustContain(t, "duplicate vault create", owner.fail("", "vault", "create", "proj"), "already exists")
	mustContain(t, "invalid vault create", owner.fail("", "vault", "create", "Bad_Name"), "lowercase")
	var vl vaultListJSON
	owner.json(&vl, "vault", "list")
	if got := strings.Join(vl.names(), ","); got != "default,proj" {
		t.Fatalf("owner's vaults = %s, want default,proj", got)
	}
	if v, _ := vl.find("proj"); v.Role != "admin" || v.Membership != "explicit" {
		t.Errorf("creator's entry for proj = %+v, want explicit admin", v)
	}
	mustContain(t, "vault list table", owner.ok("", "vault", "list"), "NAME", "proj", "default")

	// Invite bob into proj as member.
	var inv struct {
		Email      string `json:"email"`
		Role       string `json:"role"`
		Token      string `json:"token"`
		InviteLink string `json:"invite_link"`
		Vaults     []struct {
			VaultName string `json:"vault_name"`
			VaultRole string `json:"vault_role"`
		} `json:"vaults"`
	}
	owner.json(&inv, "user", "invite", "bob@example.com", "--vault", "proj:member")
	if inv.Token == "" || inv.Email != "bob@example.com" || inv.Role != "member" ||
		len(inv.Vaults) != 1 || inv.Vaults[0].VaultName != "proj" || inv.Vaults[0].VaultRole != "member" {
		t.Fatalf("invite --json = %+v", inv)
	}
	if inv.InviteLink != s.url+"/invite/"+inv.Token {
		t.Errorf("invite_link = %q, want %s/invite/<token>", inv.InviteLink, s.url)
	}
	mustContain(t, "second invite for bob", owner.fail("", "user", "invite", "bob@example.com"), "pending invite")
	var invites struct {
		Invites []struct {
			Email, Status string
		} `json:"invites"`
	}
	owner.json(&invites, "user", "invite", "list")
	if len(invites.Invites) != 1 || invites.Invites[0].Email != "bob@example.com" || invites.Invites[0].Status != "pending" {
		t.Errorf("invite list = %+v", invites)
	}
	var vu struct {
		Users []struct{ Email, Role, Status string } `json:"users"`
	}
	owner.json(&vu, "vault", "user", "list", "--vault", "proj")
	if !hasVaultUser(vu.Users, "bob@example.com", "member", "pending") {
		t.Errorf("proj users before accept = %+v, want bob pending member", vu.Users)
	}

	// Bob accepts with the link, then logs in.
	acc := bob.run("bob-pass-1\n", "auth", "accept-invite", inv.InviteLink)
	if acc.code != 0 {
		t.Fatalf("accept-invite failed:\n%s", acc)
	}
	mustContain(t, "accept-invite", acc.stdout+acc.stderr, "bob@example.com", "Account created")
	mustContain(t, "re-accepting", bob.fail("bob-pass-1\n", "auth", "accept-invite", inv.Token), "accepted")
	mustContain(t, "bob login", bob.ok("bob-pass-1\n", "auth", "login", "--email", "bob@example.com"), "Logged in to "+s.url)
	bob.json(&me, "account", "whoami")
	if me.Email != "bob@example.com" || me.Role != "member" || me.IsOwner {
		t.Errorf("bob whoami = %+v", me)
	}
	bob.json(&vl, "vault", "list")
	if got := strings.Join(vl.names(), ","); got != "proj" {
		t.Fatalf("bob sees vaults %s, want only proj", got)
	}
	if v, _ := vl.find("proj"); v.Role != "member" {
		t.Errorf("bob's role in proj = %q, want member", v.Role)
	}
	// Vaults bob holds no grant in are invisible to him.
	mustContain(t, "bob settings of default", bob.fail("", "vault", "settings", "--vault", "default"), "not found")

	// A mistyped name is reported before the confirmation is asked for.
	mustContain(t, "delete a mistyped vault", owner.fail("", "vault", "delete", "porj"), "not found")
	mustContain(t, "delete without --yes", owner.fail("", "vault", "delete", "proj"), "--yes")

	// A member can neither delete nor rename the vault.
	bob.fail("", "vault", "delete", "proj", "--yes")
	bob.fail("", "vault", "rename", "proj", "proj-two")
	owner.json(&vl, "vault", "list")
	if got := strings.Join(vl.names(), ","); got != "default,proj" {
		t.Fatalf("after bob's refused delete/rename the vaults are %s, want default,proj", got)
	}
	r = call(t, http.MethodDelete, s.url+"/v1/vaults/proj", bob.token(), nil)
	if r.status != http.StatusForbidden {
		t.Errorf("member DELETE /v1/vaults/proj = %s, want 403", r)
	}
	// Nor can a member do owner things.
	bob.fail("", "owner", "settings", "set", "--invite-only=false")
	bob.fail("", "owner", "vault", "list")

	// The owner makes bob admin; now bob can rename.
	mustContain(t, "set-role", owner.ok("", "vault", "user", "set-role", "bob@example.com", "admin", "--vault", "proj"), "bob@example.com is now admin of vault proj")
	mustContain(t, "bob rename", bob.ok("", "vault", "rename", "proj", "proj-two"), "renamed to proj-two")
	owner.json(&vl, "vault", "list")
	if got := strings.Join(vl.names(), ","); got != "default,proj-two" {
		t.Errorf("vaults after rename = %s, want default,proj-two", got)
	}
	owner.json(&vu, "vault", "user", "list", "--vault", "proj-two")
	if !hasVaultUser(vu.Users, "bob@example.com", "admin", "active") || !hasVaultUser(vu.Users, "owner@example.com", "admin", "active") {
		t.Errorf("proj-two users = %+v, want bob and owner active admins", vu.Users)
	}

	// Last-owner protection.
	mustContain(t, "demoting the last owner", owner.fail("", "owner", "user", "set-role", "owner@example.com", "member"), "last owner")
	mustContain(t, "deleting the last owner", owner.fail("", "account", "delete", "--yes"), "last owner")
	owner.json(&me, "account", "whoami")
	if me.Role != "owner" {
		t.Errorf("owner's role after refused demotion = %q", me.Role)
	}

	// Open registration; carol registers as a plain member.
	var settings struct {
		InviteOnly *bool `json:"invite_only"`
	}
	owner.json(&settings, "owner", "settings", "set", "--invite-only=false")
	if settings.InviteOnly == nil || *settings.InviteOnly {
		t.Fatalf("settings set --invite-only=false answered %+v", settings)
	}
	settings.InviteOnly = nil
	owner.json(&settings, "owner", "settings", "get")
	if settings.InviteOnly == nil || *settings.InviteOnly {
		t.Fatalf("settings get after opening = %+v", settings)
	}
	var reg struct {
		Email         string `json:"email"`
		Role          string `json:"role"`
		Authenticated bool   `json:"authenticated"`
		Token         string `json:"token"`
	}
	decodeStrict(t, carol.ok("carol-pass-1\n", "auth", "register", "--email", "carol@example.com", "--json"), &reg)
	if reg.Email != "carol@example.com" || reg.Role != "member" || reg.Authenticated || reg.Token != "" {
		t.Errorf("carol's register --json = %+v, want an unauthenticated member and no token", reg)
	}
	carol.ok("carol-pass-1\n", "auth", "login", "--email", "carol@example.com")
	carol.json(&vl, "vault", "list")
	if len(vl.Vaults) != 0 {
		t.Errorf("carol sees vaults %v, want none", vl.names())
	}
	var users struct {
		Users []struct{ Email, Role string } `json:"users"`
	}
	owner.json(&users, "user", "list")
	if len(users.Users) != 3 {
		t.Errorf("user list = %+v, want 3 users", users.Users)
	}

	// Promote bob to owner; now the original owner may step down.
	owner.ok("", "owner", "user", "set-role", "bob@example.com", "owner")
	var ud struct {
		Email  string   `json:"email"`
		Role   string   `json:"role"`
		Vaults []string `json:"vaults"`
	}
	owner.json(&ud, "owner", "user", "show", "bob@example.com")
	if ud.Role != "owner" || len(ud.Vaults) != 1 || ud.Vaults[0] != "proj-two" {
		t.Errorf("owner user show bob = %+v", ud)
	}

	// Password change ends bob's other sessions, keeps this one.
	bob2.ok("bob-pass-1\n", "auth", "login", "--email", "bob@example.com")
	var sessions struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	bob.json(&sessions, "auth", "sessions", "list")
	if len(sessions.Sessions) != 2 {
		t.Errorf("bob has %d sessions before the change, want 2", len(sessions.Sessions))
	}
	oldTok2 := bob2.token()
	mustContain(t, "wrong current password", bob.fail("nope-nope-1\nbob-pass-2\n", "account", "change-password"), "current password is wrong")
	mustContain(t, "change-password", bob.ok("bob-pass-1\nbob-pass-2\n", "account", "change-password"), "Password changed")
	bob.json(&me, "account", "whoami") // this CLI stays logged in
	mustContain(t, "other session after password change", bob2.fail("", "account", "whoami"), "session not found or revoked")
	r = call(t, http.MethodGet, s.url+"/v1/auth/me", oldTok2, nil)
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("old session after password change: %s, want 401 with WWW-Authenticate", r)
	}
	bob.json(&sessions, "auth", "sessions", "list")
	if len(sessions.Sessions) != 1 || !sessions.Sessions[0].Current {
		t.Errorf("bob's sessions after the change = %+v, want only the current one", sessions.Sessions)
	}
	mustContain(t, "login with the old password", bob2.fail("bob-pass-1\n", "auth", "login", "--email", "bob@example.com"), "invalid email or password")
	bob2.ok("bob-pass-2\n", "auth", "login", "--email", "bob@example.com")

	// Session revoke and logout.
	bob.json(&sessions, "auth", "sessions", "list")
	var other string
	for _, x := range sessions.Sessions {
		if !x.Current {
			other = x.ID
		}
	}
	if other == "" {
		t.Fatalf("bob's sessions = %+v, want a non-current one", sessions.Sessions)
	}
	bob.ok("", "auth", "sessions", "revoke", other)
	bob2.fail("", "account", "whoami")
	bobTok := bob.token()
	mustContain(t, "logout", bob.ok("", "auth", "logout"), "Logged out")
	if _, err := os.Stat(filepath.Join(bob.dir, "session.json")); !os.IsNotExist(err) {
		t.Errorf("session.json still there after logout (err %v)", err)
	}
	mustContain(t, "whoami after logout", bob.fail("", "account", "whoami"), "not logged in")
	if r := call(t, http.MethodGet, s.url+"/v1/auth/me", bobTok, nil); r.status != http.StatusUnauthorized {
		t.Errorf("token after logout: %s, want 401", r)
	}

	// With two owners, the original owner can delete their account.
	owner.ok("", "account", "delete", "--yes")
	mustContain(t, "deleted owner logging in", owner.fail("owner-pass-1\n", "auth", "login", "--email", "owner@example.com"), "invalid email or password")

	// The server logged no internal errors along the way.
	if strings.Contains(s.stderr.String(), "level=ERROR") {
		t.Errorf("server logged errors:\n%s", s.stderr.String())
	}
}

func hasVaultUser(users []struct{ Email, Role, Status string }, email, role, status string) bool {
	for _, u := range users {
		if u.Email == email && u.Role == role && u.Status == status {
			return true
		}
	}
	return false
}
