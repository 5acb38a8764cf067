package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// The trail's routes: owners read and verify it all, a vault's admins
// read their vault's rows, members, agents and strangers nothing.
func TestAuditRoutesPermissions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner()
	if _, err := owner.CreateVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	admin := e.invite(owner, "admin@example.com", "member", apitype.UserVault{VaultName: "prod", VaultRole: "admin"})
	member := e.invite(owner, "member@example.com", "member", apitype.UserVault{VaultName: "prod", VaultRole: "member"})
	ag, err := owner.CreateAgent(ctx, apitype.CreateAgentRequest{Name: "bot", Role: "owner", Vaults: []apitype.AgentVault{{VaultName: "prod", VaultRole: "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	agent := e.as(ag.Token)
	whole := func(c *client.Client) error { _, err := c.AdminAudit(ctx, client.AuditFilter{}); return err }
	vault := func(c *client.Client) error { _, err := c.VaultAudit(ctx, "prod", client.AuditFilter{}); return err }
	verify := func(c *client.Client) error { _, err := c.VerifyAudit(ctx); return err }
	for _, c := range []struct {
		name string
		c    *client.Client
		try  func(*client.Client) error
		want int
	}{
		{"owner, whole trail", owner, whole, 200},
		{"owner, vault", owner, vault, 200},
		{"owner, verify", owner, verify, 200},
		{"vault admin, vault", admin, vault, 200},
		{"vault admin, whole trail", admin, whole, 403},
		{"vault admin, verify", admin, verify, 403},
		{"member, vault", member, vault, 403},
		{"member, whole trail", member, whole, 403},
		{"agent with owner role and vault admin, whole trail", agent, whole, 403},
		{"agent with owner role and vault admin, vault", agent, vault, 403},
		{"agent, verify", agent, verify, 403},
		{"no token", e.anon(), whole, 401},
		{"no token, vault", e.anon(), vault, 401},
	} {
		if got := status(c.try(c.c)); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// A vault admin's page holds that vault's rows only.
	page, err := admin.VaultAudit(ctx, "prod", client.AuditFilter{})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("admin page: %v, %d rows", err, len(page.Events))
	}
	for _, ev := range page.Events {
		if ev.Vault != "prod" {
			t.Fatalf("row of another vault: %+v", ev)
		}
	}
}

// Rows name the client address the server saw; a forged X-Forwarded-For
// from a peer that is not a trusted proxy is ignored.
func TestAuditSourceIsTheClientAddress(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/auth/login", strings.NewReader(`{"email":"owner@example.com","password":"nope-nope-nope"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "203.0.113.66")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	page, err := owner.AdminAudit(ctx, client.AuditFilter{Action: "auth.login"})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("%v, %+v", err, page)
	}
	if ev := page.Events[0]; ev.Source != "127.0.0.1" || ev.Outcome != "failure" || ev.Actor != "owner@example.com" {
		t.Fatalf("failed login row: %+v", ev)
	}
}

// Filters are checked and pages chain through next_cursor.
func TestAuditFiltersAndCursors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner()
	for _, name := range []string{"aa1", "aa2", "aa3", "aa4", "aa5"} {
		if _, err := owner.CreateVault(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	var seen []int64
	f := client.AuditFilter{Action: "vault.create", Limit: 2}
	for range 5 {
		page, err := owner.AdminAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			seen = append(seen, ev.Seq)
		}
		if page.NextCursor == 0 {
			break
		}
		f.Before = page.NextCursor
	}
	if len(seen) != 5 || seen[0] <= seen[4] {
		t.Fatalf("paged rows: %v", seen)
	}
	one, err := owner.AdminAudit(ctx, client.AuditFilter{Vault: "aa3"})
	if err != nil || len(one.Events) != 1 || one.Events[0].Vault != "aa3" {
		t.Fatalf("vault filter: %v %+v", err, one)
	}
	for name, f := range map[string]client.AuditFilter{
		"limit over 1000":  {Limit: 1001},
		"since not a time": {Since: "yesterday"},
		"before and after": {Before: 3, After: 1},
		"actor too long":   {Actor: strings.Repeat("x", 300)},
		"until not a time": {Until: "2026-13-45"},
		"a negative age":   {Since: "-1h"},
	} {
		if _, err := owner.AdminAudit(ctx, f); status(err) != 400 {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
	// Ages count back from the server's clock, which has not moved: every
	// row is within the last hour, none older.
	all, err := owner.AdminAudit(ctx, client.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if recent, err := owner.AdminAudit(ctx, client.AuditFilter{Since: "1h", Limit: 1000}); err != nil || len(recent.Events) == 0 || len(recent.Events) != len(all.Events) {
		t.Errorf("since=1h: %v, %d rows of %d", err, len(recent.Events), len(all.Events))
	}
	if older, err := owner.AdminAudit(ctx, client.AuditFilter{Until: "1h"}); err != nil || len(older.Events) != 0 {
		t.Errorf("until=1h: %v, %d rows, want none", err, len(older.Events))
	}
}

// A management request refused with 403 leaves a failure row naming the
// route, the vault and the actor; repeats within 10 s are counted, not
// written.
func TestRefusedManagementRequestsAreRecorded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner := e.owner()
	if _, err := owner.CreateVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	member := e.invite(owner, "member@example.com", "member", apitype.UserVault{VaultName: "prod", VaultRole: "member"})
	for range 3 {
		if _, err := member.AddVaultUser(ctx, "prod", apitype.VaultUserRequest{Email: "owner@example.com", Role: "admin"}); status(err) != 403 {
			t.Fatalf("member adding a vault user: %v", err)
		}
	}
	page, err := owner.AdminAudit(ctx, client.AuditFilter{Action: "request.refused"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 {
		t.Fatalf("refusal rows: %+v", page.Events)
	}
	ev := page.Events[0]
	if ev.Actor != "member@example.com" || ev.Vault != "prod" || ev.Target != "POST /v1/vaults/{name}/users" || ev.Outcome != "failure" || ev.Detail != "forbidden" {
		t.Fatalf("refusal row: %+v", ev)
	}
	// The vault's admins see it in the vault's trail.
	vp, err := owner.VaultAudit(ctx, "prod", client.AuditFilter{Action: "request.refused"})
	if err != nil || len(vp.Events) != 1 {
		t.Fatalf("vault trail: %v %+v", err, vp.Events)
	}
}
