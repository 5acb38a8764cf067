package e2e

// Scripts written for the public CLI: its flag and command names work
// here as hidden aliases of ours (listed in docs/compatibility.md).

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompatCLINames(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)

	// login --password-stdin reads the password even without a prompt,
	// and needs --email (standard input holds only the password).
	again := newCLI(t, "again", s.url)
	again.ok("owner-pass-123\n", "auth", "login", "--email", "owner@example.com", "--password-stdin")
	if again.token() == "" {
		t.Fatal("login --password-stdin saved no session")
	}
	mustContain(t, "login --password-stdin without --email", again.fail("owner-pass-123\n", "auth", "login", "--password-stdin"), "--email")
	again.fail("wrong-password\n", "auth", "login", "--email", "owner@example.com", "--password-stdin")

	// vault service add with the public CLI's flag names.
	owner.ok("", "vault", "credential", "set", "GH_TOKEN=ghp_compat", "API_KEY=key_compat")
	owner.ok("", "vault", "service", "add", "--name", "github", "--host", "api.github.com", "--auth-type", "bearer", "--token-key", "GH_TOKEN")
	owner.ok("", "vault", "service", "add", "--name", "example-api", "--host", "api.example.com", "--auth-type", "api-key",
		"--api-key-key", "API_KEY", "--api-key-header", "X-Api-Key", "--api-key-prefix", "Key ")
	var list struct {
		Services []struct {
			Name string
			Auth struct{ Type, Token, Key, Header, Prefix string }
		}
	}
	owner.json(&list, "vault", "service", "list")
	got := map[string]string{}
	for _, s := range list.Services {
		got[s.Name] = s.Auth.Type + "|" + s.Auth.Token + "|" + s.Auth.Key + "|" + s.Auth.Header + "|" + s.Auth.Prefix
	}
	if got["github"] != "bearer|GH_TOKEN|||" || got["example-api"] != "api-key||API_KEY|X-Api-Key|Key " {
		t.Errorf("services added with the public flag names: %v", got)
	}
	// The aliases stay out of --help.
	if help := owner.ok("", "vault", "service", "add", "--help"); strings.Contains(help, "auth-type") {
		t.Errorf("--auth-type shows in --help:\n%s", help)
	}

	// owner config get|set (bare --invite-only is a switch).
	var settings map[string]any
	owner.json(&settings, "owner", "config", "set", "--invite-only=false", "--allowed-domains", "example.com,example.org")
	if settings["invite_only"] != false || !strings.Contains(string(mustJSON(t, settings["allowed_email_domains"])), "example.org") {
		t.Errorf("owner config set: %v", settings)
	}
	owner.json(&settings, "owner", "config", "set", "--invite-only")
	if settings["invite_only"] != true {
		t.Errorf("owner config set --invite-only (bare): %v", settings)
	}
	owner.json(&settings, "owner", "config", "get")
	if _, ok := settings["smtp_configured"]; !ok || settings["invite_only"] != true {
		t.Errorf("owner config get: %v", settings)
	}

	// owner user info|remove.
	inv := jsonObject(t, "invite", call(t, http.MethodPost, s.url+"/v1/users/invites", owner.token(), map[string]any{"email": "dave@example.com"}), http.StatusCreated)
	jsonObject(t, "accept", call(t, http.MethodPost, s.url+"/v1/users/invites/"+inv["token"].(string)+"/accept", "", map[string]any{"password": "dave-pass-1234"}), http.StatusOK)
	mustContain(t, "owner user info", owner.ok("", "owner", "user", "info", "dave@example.com"), "dave@example.com", "member")
	mustContain(t, "owner user remove without --yes", owner.fail("", "owner", "user", "remove", "dave@example.com"), "--yes")
	owner.ok("", "owner", "user", "remove", "dave@example.com", "--yes")
	owner.fail("", "owner", "user", "info", "dave@example.com")

	// owner email test: this server sends no email, and says so.
	mustContain(t, "owner email test", strings.ToLower(owner.fail("", "owner", "email", "test")), "smtp")
}

func TestCompatMigrateDBDryRun(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)
	owner.ok("", "vault", "credential", "set", "ONE=1", "TWO=2")
	// A running server holds the data dir: the dry run says so.
	db := filepath.Join(s.dataDir, "agent-vault.db")
	mustContain(t, "dry run on a running server", runBin(t, "", nil, "migrate-db", "--dry-run", "--from", db, "--yes").stderr, "running")
	s.stopOK()
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	r := runBin(t, "", nil, "migrate-db", "--dry-run", "--from", db, "--yes", "--json")
	if r.code != 0 {
		t.Fatalf("migrate-db --dry-run:\n%s", r)
	}
	var out struct {
		DryRun bool `json:"dry_run"`
		Tables []struct {
			Table string
			Rows  int64
		}
	}
	decodeStrict(t, r.stdout, &out)
	rows := map[string]int64{}
	for _, tb := range out.Tables {
		rows[tb.Table] = tb.Rows
	}
	if !out.DryRun || rows["users"] != 1 || rows["credentials"] != 2 {
		t.Errorf("dry run counted %v", rows)
	}
	after, _ := os.ReadFile(db)
	if string(before) != string(after) {
		t.Error("the dry run changed the SQLite file")
	}
	// --from names a data dir's database, nothing else.
	mustContain(t, "--from of another file", runBin(t, "", nil, "migrate-db", "--dry-run", "--from", filepath.Join(t.TempDir(), "other.db")).stderr, "agent-vault.db")
}

func TestCompatOwnerReset(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)
	// The public CLI shares the server's data dir; so does this owner.
	local := &cliUser{t: t, name: "local-owner", addr: s.url, dir: s.dataDir}
	local.ok("owner-pass-123\n", "auth", "login", "--email", "owner@example.com", "--password-stdin")
	db := filepath.Join(s.dataDir, "agent-vault.db")

	// A member may not reset.
	owner.ok("", "owner", "settings", "set", "--invite-only=false")
	member := &cliUser{t: t, name: "member", addr: s.url, dir: filepath.Join(t.TempDir(), "m")}
	member.ok("member-pass-123\n", "auth", "register", "--email", "m@example.com", "--password-stdin")
	mdir := filepath.Join(t.TempDir(), "mdir")
	m2 := &cliUser{t: t, name: "m2", addr: s.url, dir: mdir}
	m2.ok("member-pass-123\n", "auth", "login", "--email", "m@example.com", "--password-stdin")
	if err := os.WriteFile(filepath.Join(mdir, "agent-vault.db"), []byte("not to be touched"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "member reset", m2.fail("", "owner", "reset", "--yes"), "owner")
	if b, err := os.ReadFile(filepath.Join(mdir, "agent-vault.db")); err != nil || string(b) != "not to be touched" {
		t.Errorf("a member's refused reset touched the database (%v)", err)
	}

	// Without the confirmation nothing happens.
	out := local.ok("no\n", "owner", "reset")
	mustContain(t, "reset unconfirmed", out, "Aborted")
	if _, err := os.Stat(db); err != nil || s.exited() {
		t.Fatalf("an unconfirmed reset deleted the database or stopped the server (%v)", err)
	}
	// Typed "reset": the server stops and the instance is gone.
	local.ok("reset\n", "owner", "reset")
	if code := s.waitExit(40 * time.Second); code != 0 {
		t.Errorf("server exit code %d after reset", code)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database survived the reset: %v", err)
	}
	// A fresh server on the data dir has no users.
	s2 := startServer(t, serverOpts{dataDir: s.dataDir})
	var st map[string]any
	if err := json.Unmarshal(call(t, http.MethodGet, s2.url+"/v1/status", "", nil).body, &st); err != nil || st["needs_first_user"] != true {
		t.Errorf("after reset the server's status is %v", st)
	}
}
