package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// invitedMember invites email as an instance member and logs them in.
func invitedMember(t *testing.T, owner *cliUser, s *server, name, email string) *cliUser {
	t.Helper()
	var inv struct {
		Token string `json:"token"`
	}
	owner.json(&inv, "user", "invite", email)
	c := newCLI(t, name, s.url)
	if r := c.run(name+"-pass-1\n"+name+"-pass-1\n", "auth", "accept-invite", inv.Token); r.code != 0 {
		t.Fatalf("accept-invite:\n%s", r)
	}
	c.ok(name+"-pass-1\n", "auth", "login", "--email", email)
	return c
}

// agentToken creates an agent through c and returns its token.
func agentToken(t *testing.T, c *cliUser, args ...string) string {
	t.Helper()
	tok := strings.TrimSpace(c.ok("", append([]string{"agent", "create"}, append(args, "--token-only")...)...))
	if !strings.HasPrefix(tok, "av_agt_") {
		t.Fatalf("agent create --token-only printed %q", tok)
	}
	return tok
}

// TestAgentOwnershipByID plays the takeover of agents through their
// creator's name with the real binary: deleting a user and registering
// the same email, and renaming an agent and creating another by its name.
// Neither newcomer gets the agents; an owner may hand them over instead.
func TestAgentOwnershipByID(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	me := func(tok string) int { return call(t, http.MethodGet, s.url+"/v1/auth/me", tok, nil).status }

	// 1. Delete + re-register.
	alice := invitedMember(t, owner, s, "alice", "alice@example.com")
	aliceBot := agentToken(t, alice, "alice-bot")
	if c := me(aliceBot); c != 200 {
		t.Fatalf("alice-bot before = %d", c)
	}
	out := owner.ok("", "owner", "user", "delete", "alice@example.com", "--yes")
	mustContain(t, "owner user delete", out, "User alice@example.com removed.", "Agents revoked", "alice-bot")
	if c := me(aliceBot); c != http.StatusUnauthorized {
		t.Errorf("alice-bot after alice's deletion = %d, want 401", c)
	}
	mustContain(t, "agent info", owner.ok("", "agent", "info", "alice-bot"), "status: revoked", "owner: nobody (instance owners only)", "created by: alice@example.com")

	owner.ok("", "owner", "settings", "set", "--invite-only=false")
	mallory := newCLI(t, "mallory", s.url)
	mallory.run("mallory-pass-1\n", "auth", "register", "--email", "alice@example.com")
	mallory.ok("mallory-pass-1\n", "auth", "login", "--email", "alice@example.com")
	owner.ok("", "owner", "user", "set-role", "alice@example.com", "member")
	mustContain(t, "newcomer rotates the old agent", mallory.fail("", "agent", "rotate", "alice-bot"), "only the agents you own")
	mallory.fail("", "agent", "delete", "alice-bot")
	if l := mallory.ok("", "agent", "list"); strings.Contains(l, "alice-bot") {
		t.Errorf("newcomer's agent list shows alice-bot:\n%s", l)
	}

	// 2. Rename + re-create by name.
	bob := invitedMember(t, owner, s, "bob", "bob@example.com")
	builder := agentToken(t, bob, "builder", "--role", "member")
	if r := call(t, http.MethodPost, s.url+"/v1/agents", builder, map[string]string{"name": "child"}); r.status != http.StatusCreated {
		t.Fatalf("builder creates child = %s", r)
	}
	bob.ok("", "agent", "rename", "builder", "builder-old")
	carol := invitedMember(t, owner, s, "carol", "carol@example.com")
	imposter := agentToken(t, carol, "builder", "--role", "member")
	if r := call(t, http.MethodPost, s.url+"/v1/agents/child/rotate", imposter, nil); r.status != http.StatusForbidden {
		t.Errorf("a new agent named like child's creator rotates child = %s, want 403", r)
	}
	if r := call(t, http.MethodPost, s.url+"/v1/agents/child/rotate", builder, nil); r.status != http.StatusOK {
		t.Errorf("the renamed creator rotates child = %s, want 200", r)
	}

	// 3. Hand-over: bob's agents go to carol, who can then rotate them.
	bobBot := agentToken(t, bob, "bob-bot")
	out = owner.ok("", "owner", "user", "delete", "bob@example.com", "--yes", "--transfer-agents-to", "carol@example.com")
	mustContain(t, "delete with transfer", out, "Agents handed to carol@example.com", "bob-bot", "builder-old")
	if c := me(bobBot); c != 200 {
		t.Errorf("bob-bot after the hand-over = %d, want still working", c)
	}
	mustContain(t, "carol rotates bob-bot", carol.ok("", "agent", "rotate", "bob-bot"), "New token for bob-bot")
	mustContain(t, "agent info after hand-over", carol.ok("", "agent", "info", "bob-bot"), "owner: carol@example.com", "created by: bob@example.com")
}
