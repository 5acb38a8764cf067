package e2e

// `agent-vault doctor`: its ordered checks outside and inside `run`, and
// the failing check (with a fix) when something is off.

import (
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rnDoctorChecks is the order of doctor's checks (with --host).
var rnDoctorChecks = []string{"server reachable", "version", "token", "proxy", "CA trusted", "round trip", "clock"}

// rnNoCAVars clears the CA variables doctor looks at (empty is unset).
var rnNoCAVars = []string{"SSL_CERT_FILE=", "REQUESTS_CA_BUNDLE=", "CURL_CA_BUNDLE=", "NODE_EXTRA_CA_CERTS=", "GIT_SSL_CAINFO="}

func TestDoctor(t *testing.T) {
	t.Parallel()
	ca := pxNewCA(t)
	want := "Bearer " + rnSecret
	up := rnStartUpstream(t, ca, "127.0.0.1", rnAuthHandler(want))
	b := rnStart(t, ca)
	host := "localhost:" + strconv.Itoa(up.port)
	b.bearer(host)
	base := append(rnCleanClientEnv(t.TempDir()), rnNoCAVars...)

	t.Run("outside run, CLI login only", func(t *testing.T) {
		r := b.run(base, "doctor")
		t.Logf("doctor (CLI login, no CA variables):\n%s", r.stdout)
		if r.code != 1 {
			t.Errorf("doctor with a failing check exited %d, want 1:\n%s", r.code, r)
		}
		mustContain(t, "doctor's text output", r.stdout, "FAIL  CA trusted", "      fix: run the agent under `agent-vault run`", "PASS  server reachable", "PASS  proxy")

		r = b.run(base, "doctor", "--json")
		d := rnParseDoctor(t, r.stdout)
		if r.code != 1 || d.OK {
			t.Errorf("doctor --json: exit %d ok %v, want 1 and false", r.code, d.OK)
		}
		wantOrder := []string{"server reachable", "version", "token", "proxy", "CA trusted", "clock"}
		if got := d.names(); strings.Join(got, ",") != strings.Join(wantOrder, ",") {
			t.Errorf("doctor's checks %q, want %q", got, wantOrder)
		}
		for _, c := range d.Checks {
			switch {
			case c.Check == "CA trusted":
				if c.OK || c.Fix == "" || !strings.Contains(c.Detail, "SSL_CERT_FILE") {
					t.Errorf("CA check: %+v, want a failure naming SSL_CERT_FILE, with a fix", c)
				}
			case !c.OK:
				t.Errorf("check %q failed: %+v", c.Check, c)
			case c.Check == "token" && !strings.Contains(c.Detail, "default"):
				t.Errorf("the token check does not name the vault: %q", c.Detail)
			}
		}
	})

	t.Run("inside run", func(t *testing.T) {
		tok := b.agent("doc-bot")
		for _, agent := range []bool{false, true} {
			before := up.count()
			args := []string{"run", "--", binPath, "doctor", "--json", "--host", host}
			var r result
			if agent {
				r = b.agentRun(tok, base, args...)
			} else {
				r = b.run(base, args...)
			}
			d := rnParseDoctor(t, r.stdout)
			if r.code != 0 || !d.OK {
				t.Fatalf("doctor inside run (agent mode %v) found problems:\n%s", agent, r)
			}
			if got := d.names(); strings.Join(got, ",") != strings.Join(rnDoctorChecks, ",") {
				t.Errorf("doctor's checks %q, want %q", got, rnDoctorChecks)
			}
			for _, c := range d.Checks {
				if !c.OK {
					t.Errorf("check %q failed inside run: %+v", c.Check, c)
				}
				if c.Check == "round trip" && !strings.Contains(c.Detail, "answered 200") {
					t.Errorf("round trip: %q, want the upstream's 200", c.Detail)
				}
				if c.Check == "CA trusted" && c.Detail != "SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS, GIT_SSL_CAINFO hold the broker CA" {
					t.Errorf("CA check inside run: %q", c.Detail)
				}
			}
			// The round trip really went through the proxy to the upstream.
			up.checkAuth(t, before, want)
		}
		r := b.run(base, "run", "--", binPath, "doctor", "--host", host)
		t.Logf("doctor inside run:\n%s", r.stdout)
		if r.code != 0 || strings.Contains(r.stdout, "FAIL") {
			t.Errorf("doctor inside run:\n%s", r)
		}
	})

	t.Run("round trip to a dead host", func(t *testing.T) {
		dead := net.JoinHostPort("localhost", strconv.Itoa(freePort(t)))
		r := b.run(base, "run", "--", binPath, "doctor", "--host", dead)
		t.Logf("doctor --host %s inside run:\n%s", dead, r.stdout)
		if r.code != 1 {
			t.Errorf("exit %d, want 1:\n%s", r.code, r)
		}
		mustContain(t, "doctor's output", r.stdout, "FAIL  round trip", "      fix: ")
	})

	t.Run("invalid token", func(t *testing.T) {
		env := append(base, "AGENT_VAULT_TOKEN=av_agt_"+strings.Repeat("0", 64), "AGENT_VAULT_ADDR="+b.srv.url)
		r := runBin(t, "", env, "--data-dir", filepath.Join(t.TempDir(), "cli"), "doctor")
		t.Logf("doctor with an invalid AGENT_VAULT_TOKEN:\n%s", r.stdout)
		mustContain(t, "doctor's output", r.stdout, "FAIL  token", "      fix: ")
		r = runBin(t, "", env, "--data-dir", filepath.Join(t.TempDir(), "cli"), "doctor", "--json")
		d := rnParseDoctor(t, r.stdout)
		if r.code != 1 || d.OK {
			t.Errorf("doctor with a bad token: exit %d ok %v", r.code, d.OK)
		}
		last := d.Checks[len(d.Checks)-1]
		if last.Check != "token" || last.OK || last.Fix == "" {
			t.Errorf("doctor with a bad token ends with %+v, want a failed token check with a fix", last)
		}
		for _, c := range d.Checks[:len(d.Checks)-1] {
			if !c.OK {
				t.Errorf("check %q before the token failed: %+v", c.Check, c)
			}
		}
	})

	t.Run("two vaults, vault use, --vault; nothing in the request log", func(t *testing.T) {
		b.owner.ok("", "vault", "create", "doc-two")
		check := func(what string, r result, wantVault string) {
			t.Helper()
			d := rnParseDoctor(t, r.stdout)
			for _, c := range d.Checks {
				switch c.Check {
				case "token", "proxy":
					if !c.OK || !strings.Contains(c.Detail, "vault "+wantVault) {
						t.Errorf("%s: %s check %+v, want a pass naming vault %s", what, c.Check, c, wantVault)
					}
				}
			}
		}
		check("doctor with two vaults", b.run(base, "doctor", "--json"), "default")
		b.owner.ok("", "vault", "use", "doc-two")
		check("doctor after vault use", b.run(base, "doctor", "--json"), "doc-two")
		check("doctor --vault default", b.run(base, "doctor", "--json", "--vault", "default"), "default")
		b.owner.ok("", "vault", "use", "default")
		r := b.run(base, "doctor", "--vault", "doc-tow")
		mustContain(t, "doctor --vault with a typo", r.stdout, "FAIL  token", `vault "doc-tow" not found`, "fix: check the vault's name: `agent-vault vault list`")

		// The proxy checks (here and in the subtests before) left no row;
		// the round trip, a real request, did. Rows are written in order,
		// so once the round trip's row is there, any probe row would be.
		r = b.run(base, "run", "--", binPath, "doctor", "--json", "--host", host)
		if r.code != 0 {
			t.Fatalf("doctor inside run:\n%s", r)
		}
		var logs struct {
			Logs []struct{ Host string } `json:"logs"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			b.owner.json(&logs, "vault", "logs", "--limit", "1000")
			if slices.ContainsFunc(logs.Logs, func(l struct{ Host string }) bool { return l.Host == "localhost" }) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		var hosts []string
		for _, l := range logs.Logs {
			hosts = append(hosts, l.Host)
		}
		if !slices.Contains(hosts, "localhost") {
			t.Fatalf("the round trip's row never appeared: %v", hosts)
		}
		for _, h := range hosts {
			if strings.HasSuffix(h, ".invalid") {
				t.Errorf("doctor's proxy check left a row in the request log: %v", hosts)
			}
		}
		var found struct {
			Hosts []struct{ Host string } `json:"hosts"`
		}
		b.owner.json(&found, "vault", "logs", "hosts")
		for _, h := range found.Hosts {
			if strings.HasSuffix(h.Host, ".invalid") {
				t.Errorf("doctor's proxy check shows in discovered hosts: %+v", found.Hosts)
			}
		}
	})

	t.Run("server stopped", func(t *testing.T) {
		b.srv.stopOK()
		r := b.run(base, "doctor")
		t.Logf("doctor with the server stopped:\n%s", r.stdout)
		if r.code == 0 {
			t.Errorf("doctor exited 0 with the server stopped:\n%s", r)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "FAIL  server reachable") || !strings.HasPrefix(lines[1], "      fix: start it with `agent-vault server`") {
			t.Errorf("doctor with the server stopped, want one failed check with its fix:\n%s", r)
		}
		r = b.run(base, "doctor", "--json")
		d := rnParseDoctor(t, r.stdout)
		if r.code == 0 || d.OK || len(d.Checks) != 1 || d.Checks[0].Check != "server reachable" || d.Checks[0].Fix == "" {
			t.Errorf("doctor --json with the server stopped:\n%s", r)
		}
	})
}
