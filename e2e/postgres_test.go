package e2e

// Several servers on one PostgreSQL database (SPEC §1: "PostgreSQL when
// DATABASE_URL is set, for many stateless replicas"): they start together
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
		s := launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "other"), env: append([]string{"DATABASE_URL=" + dbURL}, c.env...),
			args: []string{"--mitm-port", "0"}})
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the server started", c.name)
		}
		if s.state.Success() || !strings.Contains(s.stderr.String(), c.want) {
			t.Errorf("%s: exit %v, stderr:\n%s", c.name, s.state, s.stderr.String())
		}
		if strings.Contains(s.stderr.String(), "correct horse") {
			t.Errorf("%s: the password is in the output", c.name)
		}
	}
	// The URL's password never shows in a message.
	bad := strings.Replace(dbURL, "@", "x@", 1) // a wrong password
	s := launch(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "bad"), env: []string{"DATABASE_URL=" + bad}, args: []string{"--mitm-port", "0"}})
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a server with a wrong database password started")
	}
	pw := ""
	if i, j := strings.Index(bad, "://"), strings.Index(bad, "@"); i >= 0 && j > i {
		if _, p, ok := strings.Cut(bad[i+3:j], ":"); ok {
			pw = p
		}
	}
	if out := s.stderr.String(); s.state.Success() || !strings.Contains(out, "PostgreSQL at 127.0.0.1") || (pw != "" && strings.Contains(out, pw)) {
		t.Errorf("wrong database password: exit %v, stderr:\n%s", s.state, out)
	}
}
