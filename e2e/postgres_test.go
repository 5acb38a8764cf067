package e2e

// Several servers on one PostgreSQL database (docs/operations.md,
// "PostgreSQL and several servers"): they start together
// on an empty database and share one keyring and one CA; a change made on
// one (a revoked agent, a new credential value) reaches the proxy of the
// other within the change poll; a wrong master password is refused. These
// tests need a PostgreSQL server: scripts/test.sh starts one on loopback
// (scripts/pg-test.sh) and sets AGENT_VAULT_TEST_POSTGRES_URL.

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

func pgDatabase(t *testing.T) string {
	t.Helper()
	if !sqltest.PostgresAvailable() {
		t.Skip("no PostgreSQL server: set " + sqltest.EnvPostgresURL + " (scripts/test.sh starts one)")
	}
	return sqltest.NewPostgresDatabase(t)
}

// pgReplica starts one more server on the database of a, with its proxy
// and the upstream CA ca; agents trust a's CA bundle (the CA is shared),
// and a's owner CLI drives it.
func pgReplica(t *testing.T, a *pxBroker, ca *pxCA, env []string) *pxBroker {
	t.Helper()
	mitm := freePort(t)
	s := launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "replica"), env: env,
		args: []string{"--mitm-port", strconv.Itoa(mitm), "--upstream-ca-file", ca.file}})
	if err := s.waitHealthy(30 * time.Second); err != nil {
		t.Fatalf("replica did not become healthy: %v\nstderr:\n%s", err, s.stderr.String())
	}
	b := &pxBroker{t: t, srv: s, owner: a.owner, proxyAddr: "127.0.0.1:" + strconv.Itoa(mitm), caFile: a.caFile, caPool: a.caPool}
	waitListening(t, b.proxyAddr)
	return b
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// caPEM is a server's /v1/mitm/ca.pem.
func caPEM(t *testing.T, s *server) string {
	t.Helper()
	r := call(t, "GET", s.url+"/v1/mitm/ca.pem", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), "BEGIN CERTIFICATE") {
		t.Fatalf("%s ca.pem: %d %.80s", s.name, r.status, r.body)
	}
	return string(r.body)
}

// within polls f until it returns "" or the time is up, and reports the
// last complaint.
func within(t *testing.T, d time.Duration, what string, f func() string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if last = f(); last == "" {
			return
		}
	}
	t.Fatalf("%s: not within %v: %s", what, d, last)
}

func TestPostgresReplicasShareStateAndChanges(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	env := []string{"DATABASE_URL=" + dbURL}
	ca := pxNewCA(t)
	firstKey := "sk_pg_first_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secondKey := "sk_pg_second_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// The upstream says which key it received (never the key itself: the
	// client's output is searched for credential values).
	up := pxStartUpstream(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + firstKey:
			_, _ = io.WriteString(w, "key=first")
		case "Bearer " + secondKey:
			_, _ = io.WriteString(w, "key=second")
		default:
			_, _ = io.WriteString(w, "key=other")
		}
	}))
	a := pxStart(t, pxOpts{ca: ca, env: env})
	a.creds("", map[string]string{"API_KEY": firstKey})
	a.services("", "services:\n  - name: api\n    host: localhost:"+strconv.Itoa(up.port)+"\n    auth: {type: bearer, token: API_KEY}\n")
	tok := a.agent("bot")

	b := pgReplica(t, a, ca, append(env, "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true"))
	if caPEM(t, a.srv) != caPEM(t, b.srv) {
		t.Fatal("the two servers present different proxy CAs")
	}
	// The data dir holds no database: it is in PostgreSQL.
	if _, err := os.Stat(filepath.Join(b.srv.dataDir, "agent-vault.db")); !os.IsNotExist(err) {
		t.Errorf("the replica created a SQLite file (%v)", err)
	}

	get := func(p *pxBroker) (int, string) {
		resp, err := p.client(tok, "default", false).Get(up.url() + "/v1/whoami")
		if err != nil {
			return 0, err.Error()
		}
		return resp.StatusCode, p.read(resp)
	}
	for _, p := range []*pxBroker{a, b} {
		if code, body := get(p); code != 200 || body != "key=first" {
			t.Fatalf("through %s: %d %q, want the first key injected", p.srv.name, code, body)
		}
	}

	// A new value set on a reaches b's proxy.
	a.creds("", map[string]string{"API_KEY": secondKey})
	within(t, 5*time.Second, "the new credential value on the replica", func() string {
		if code, body := get(b); code != 200 || body != "key=second" {
			return strconv.Itoa(code) + " " + body
		}
		return ""
	})

	// An agent revoked on a is refused by b's proxy.
	a.owner.ok("", "agent", "revoke", "bot")
	within(t, 5*time.Second, "the revocation on the replica", func() string {
		// The CONNECT is refused: Go's client reports the 407 as an error.
		if code, body := get(b); code != 0 || !strings.Contains(body, "Proxy Authentication Required") {
			return strconv.Itoa(code) + " " + body
		}
		return ""
	})

	// The request log of both servers lands in the one database.
	within(t, 10*time.Second, "rows from both servers in the request log", func() string {
		var l lgList
		a.owner.json(&l, "vault", "logs", "--limit", "100")
		if len(l.Logs) < 3 { // one request through a, two or more through b
			return strconv.Itoa(len(l.Logs)) + " rows"
		}
		return ""
	})

	b.secrets, b.tokens = []string{firstKey, secondKey}, []string{tok}
	b.checkHygiene()
	a.mu.Lock()
	a.secrets = append(a.secrets, firstKey, secondKey)
	a.mu.Unlock()
}

// Two servers started at the same moment on an empty database create one
// keyring, one default vault and one CA between them.
func TestPostgresServersStartingTogether(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	// launch does not wait for the server: the three start together.
	servers := make([]*server, 3)
	for i := range servers {
		servers[i] = launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "s"+strconv.Itoa(i)), env: []string{"DATABASE_URL=" + dbURL},
			args: []string{"--mitm-port", "0"}})
	}
	for _, s := range servers {
		if err := s.waitHealthy(60 * time.Second); err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s", s.name, err, s.stderr.String())
		}
	}
	ca0 := caPEM(t, servers[0])
	for _, s := range servers[1:] {
		if caPEM(t, s) != ca0 {
			t.Errorf("%s presents another CA", s.name)
		}
	}
	// One instance: the owner registered on one logs in on the others.
	owner := newCLI(t, "owner", servers[0].url)
	register(t, owner, "owner@example.com", "owner-pass-1")
	owner.ok("", "vault", "create", "shared")
	for _, s := range servers[1:] {
		c := newCLI(t, "owner-"+s.name, s.url)
		c.ok("owner-pass-1\n", "auth", "login", "--email", "owner@example.com")
		if out := c.ok("", "vault", "list"); !strings.Contains(out, "shared") || !strings.Contains(out, "default") {
			t.Errorf("%s lists vaults:\n%s", s.name, out)
		}
	}
}

// A master password protects the shared keyring: a server started with
// the wrong one (or none) refuses to start and changes nothing.
func TestPostgresMasterPassword(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	first := launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "first"),
		env: []string{"DATABASE_URL=" + dbURL, "AGENT_VAULT_MASTER_PASSWORD=correct horse battery"}, args: []string{"--mitm-port", "0"}})
	if err := first.waitHealthy(30 * time.Second); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, first.stderr.String())
	}
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"wrong password", []string{"AGENT_VAULT_MASTER_PASSWORD=wrong"}, "master password is wrong"},
		{"no password", nil, "encrypted with a master password"},
	} {
		out := expectStartFailure(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "other"), env: append([]string{"DATABASE_URL=" + dbURL}, c.env...),
			args: []string{"--mitm-port", "0"}})
		if !strings.Contains(out, c.want) || strings.Contains(out, "correct horse") {
			t.Errorf("%s: stderr:\n%s", c.name, out)
		}
	}
	// The URL's password never shows in a message.
	bad := strings.Replace(dbURL, "@", "x@", 1) // a wrong password
	out := expectStartFailure(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "bad"), env: []string{"DATABASE_URL=" + bad}, args: []string{"--mitm-port", "0"}})
	if pw := dbPassword(bad); !strings.Contains(out, "PostgreSQL at 127.0.0.1") || (pw != "" && strings.Contains(out, pw)) {
		t.Errorf("wrong database password: stderr:\n%s", out)
	}
}

// `migrate-db --to` copies a SQLite instance into PostgreSQL: a server on
// the copy unlocks with the same master password, presents the same CA,
// knows the same users and sessions, injects the same credentials for the
// same agent tokens, lists the same request log and proposals, and gives
// new proposals ids above the copied ones.
func TestMigrateDBToPostgres(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	const mpw = "migrate-master-pw-77"
	ca := pxNewCA(t)
	up := pxStartUpstream(t, ca, pxAuthHandler("Bearer "+pxAPIKey))
	a := pxStart(t, pxOpts{ca: ca, env: []string{"AGENT_VAULT_MASTER_PASSWORD=" + mpw}})
	a.creds("", map[string]string{"API_KEY": pxAPIKey})
	a.services("", "services:\n  - name: api\n    host: localhost:"+strconv.Itoa(up.port)+"\n    auth: {type: bearer, token: API_KEY}\n")
	tok := a.agent("bot")
	resp, err := a.client(tok, "default", false).Get(up.url() + "/before/migration")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("proxied request before the migration: %v %v", resp, err)
	}
	a.read(resp)
	var prop pcCreated
	a.owner.json(&prop, "vault", "proposal", "create", "--name", "github", "--host", "api.github.test",
		"--auth", "bearer", "--token", "GH_TOKEN", "--credential", "GH_TOKEN=GitHub token")
	lgWaitRows(t, a, 1)
	var logsBefore lgList
	a.owner.json(&logsBefore, "vault", "logs")
	caBefore := caPEM(t, a.srv)

	// While the server runs, the data dir is locked.
	cli := newCLI(t, "migrator", a.srv.url)
	r := cli.run("", "migrate-db", "--data-dir", a.srv.dataDir, "--to", dbURL)
	if r.code == 0 || !strings.Contains(r.stderr, "already running") {
		t.Fatalf("migrate-db with the server running: %d\n%s", r.code, r.stderr)
	}
	a.srv.stopOK()
	r = cli.run("", "migrate-db", "--data-dir", a.srv.dataDir, "--to", dbURL)
	if r.code != 0 || !strings.Contains(r.stdout, "Copied") || !strings.Contains(r.stderr, "credentials") {
		t.Fatalf("migrate-db: %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if pw := dbPassword(dbURL); pw != "" && (strings.Contains(r.stdout, pw) || strings.Contains(r.stderr, pw)) {
		t.Error("migrate-db printed the database password")
	}
	// A second copy into the same database is refused: it is not empty.
	r = cli.run("", "migrate-db", "--data-dir", a.srv.dataDir, "--to", dbURL, "--json")
	if r.code == 0 || !strings.Contains(r.stderr, "already holds an Agent Vault instance") {
		t.Errorf("second migrate-db: %d\n%s", r.code, r.stderr)
	}

	// A server on the copy, same master password, its own data dir.
	b := pgReplica(t, a, ca, []string{"DATABASE_URL=" + dbURL, "AGENT_VAULT_MASTER_PASSWORD=" + mpw, "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true"})
	if caPEM(t, b.srv) != caBefore {
		t.Error("the copy presents another CA")
	}
	owner := newCLI(t, "owner-pg", b.srv.url)
	owner.ok("owner-pass-1\n", "auth", "login", "--email", "owner@example.com")
	b.owner = owner
	if got := strings.TrimSpace(owner.ok("", "vault", "creds", "get", "API_KEY")); got != pxAPIKey {
		t.Error("the copied credential does not decrypt to its value")
	}
	resp, err = b.client(tok, "default", false).Get(up.url() + "/after/migration")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the copied agent token through the copy's proxy: %v %v", resp, err)
	}
	b.read(resp)
	var logsAfter lgList
	owner.json(&logsAfter, "vault", "logs")
	if len(logsAfter.Logs) < len(logsBefore.Logs) || logsAfter.Logs[0].ID != logsBefore.Logs[0].ID {
		t.Errorf("request log after the copy = %+v, before %+v", logsAfter.Logs, logsBefore.Logs)
	}
	var again pcCreated
	owner.json(&again, "vault", "proposal", "create", "--name", "gitlab", "--host", "gitlab.test",
		"--auth", "bearer", "--token", "GL_TOKEN", "--credential", "GL_TOKEN=GitLab token")
	if again.ID <= prop.ID {
		t.Errorf("a new proposal on the copy got id %d, not above the copied %d", again.ID, prop.ID)
	}
	var p pcProposal
	owner.json(&p, "vault", "proposal", "show", pcID(prop.ID))
	if len(p.Services) != 1 || p.Services[0].Name != "github" {
		t.Errorf("the copied proposal = %+v", p)
	}
	// The admin audit trail came along, and its chain (keyed from the
	// copied data key) still verifies, new rows included.
	mustContain(t, "audit verify on the copy", owner.ok("", "audit", "verify"), "intact")
	mustContain(t, "audit list on the copy", owner.ok("", "audit", "list", "--limit", "1000"), "credential.set", "proposal.create", "auth.login")
}

// dbPassword is the password in a postgres:// URL.
func dbPassword(u string) string {
	i, j := strings.Index(u, "://"), strings.LastIndex(u, "@")
	if i < 0 || j < i {
		return ""
	}
	_, p, _ := strings.Cut(u[i+3:j], ":")
	return p
}

// When the database stops answering, a server's proxy stops serving
// (it cannot know what another server revoked) and serves again when the
// database is back.
func TestPostgresProxyFailsClosedWithoutTheDatabase(t *testing.T) {
	t.Parallel()
	dbURL := pgDatabase(t)
	a, up, tok := pxSetup(t, pxOpts{env: []string{"DATABASE_URL=" + dbURL}}, nil)
	get := func() (int, string) {
		resp, err := a.client(tok, "default", false).Get(up.url() + "/probe")
		if err != nil {
			return 0, err.Error()
		}
		return resp.StatusCode, a.read(resp)
	}
	if code, body := get(); code != 200 {
		t.Fatalf("before: %d %s", code, body)
	}

	admin, err := sqlstore.OpenPostgres(t.Context(), os.Getenv(sqltest.EnvPostgresURL), sqlstore.PostgresOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := dbURL[strings.LastIndex(dbURL, "/")+1:]
	if i := strings.Index(name, "?"); i >= 0 {
		name = name[:i]
	}
	cut := func(allow bool) {
		t.Helper()
		if _, err := admin.SQL().Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS ` + strconv.FormatBool(allow)); err != nil {
			t.Fatal(err)
		}
		if !allow {
			if _, err := admin.SQL().Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	cut(false)
	defer cut(true)
	within(t, 10*time.Second, "the proxy refusing without its database", func() string {
		if code, body := get(); code == 200 {
			return "still 200: " + body
		}
		return ""
	})
	cut(true)
	within(t, 15*time.Second, "the proxy serving again", func() string {
		if code, body := get(); code != 200 {
			return strconv.Itoa(code) + " " + body
		}
		return ""
	})
}
