package e2e

// The first-run gate against the real binary: on a fresh instance (no
// account yet) nobody becomes the owner without the one-time setup code
// that the server printed and wrote to its data dir, by any route.

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An attacker reaches a fresh server's port before its operator and tries
// to claim it over the API and with the CLI: no code, a wrong code, many
// guesses. Each is refused with an answer saying where the code is; the
// guesses spend the address's failed-login budget. The operator, on the
// server's machine with its data dir, registers with the plain command
// (the code is read from the data dir), once; the code then makes nobody
// owner again, and a restart prints no code.
func TestFirstRunNeedsTheSetupCode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "server")
	s := startServer(t, serverOpts{dataDir: dir, env: []string{"AGENT_VAULT_RATELIMIT_PROFILE=default",
		"AGENT_VAULT_RATELIMIT_AUTH_MAX=3", "AGENT_VAULT_RATELIMIT_AUTH_WINDOW=2s"}})
	code := setupCodeOf(t, s.url)
	if !strings.Contains(s.stderr.String(), "setup_code="+code) {
		t.Fatalf("the server did not print the code it wrote:\n%s", s.stderr.String())
	}
	if m := mode(t, filepath.Join(dir, "setup-code")); m != 0o600 {
		t.Errorf("the setup code file has mode %o, want 600", m)
	}
	reg := s.url + "/v1/auth/register"
	attacker := map[string]string{"email": "mallory@example.com", "password": "mallory-pass-1"}

	// No code, as the public CLI and SDK send it.
	r := call(t, http.MethodPost, reg, "", attacker)
	if e := r.errorBody(t); r.status != http.StatusUnauthorized || e.Code != "setup_code_required" ||
		!strings.Contains(e.Error, "setup-code in the server's data directory") || !strings.Contains(e.Error, "--setup-code") {
		t.Fatalf("register without a code: %s", r)
	}
	// A wrong code.
	attacker["setup_code"] = "ABCDE-FGHJK-MNPQR-STUVW"
	if r := call(t, http.MethodPost, reg, "", attacker); r.status != http.StatusUnauthorized || r.errorBody(t).Code != "invalid_setup_code" {
		t.Fatalf("register with a wrong code: %s", r)
	}
	// The CLI on another machine (its own data dir) has no code to send.
	mallory := newCLI(t, "mallory", s.url)
	out := mallory.fail("mallory-pass-1\n", "auth", "register", "--email", "mallory@example.com", "--password-stdin")
	mustContain(t, "CLI register without the code", out, "setup code", "--setup-code")
	// Many guesses: the budget runs out and even the right code waits.
	attacker["setup_code"] = code
	if r := call(t, http.MethodPost, reg, "", attacker); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("a guess past the budget: %s, want 429 with Retry-After", r)
	}
	if st := call(t, http.MethodGet, s.url+"/v1/status", "", nil); !strings.Contains(string(st.body), `"needs_first_user":true`) {
		t.Fatalf("an account exists after the refused attempts: %s", st)
	}

	// The operator, on the server's machine: the CLI shares its data dir.
	// The budget window passes first.
	operator := &cliUser{t: t, name: "operator", addr: s.url, dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := operator.run("owner-pass-1\n", "auth", "register", "--email", "owner@example.com", "--password-stdin")
		if res.code == 0 {
			mustContain(t, "operator register", res.stdout, "(owner)")
			break
		}
		if !strings.Contains(res.stderr, "too many") || time.Now().After(deadline) {
			t.Fatalf("the operator's register failed:\n%s", res)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "setup-code")); !os.IsNotExist(err) {
		t.Errorf("the setup code file outlived the owner's creation: %v", err)
	}
	// Replayed, the code makes nobody owner (registration is invite-only).
	if r := call(t, http.MethodPost, reg, "", attacker); r.status != http.StatusForbidden || r.errorBody(t).Code != "invite_only" {
		t.Fatalf("the code replayed: %s", r)
	}
	mustContain(t, "CLI replay", mallory.fail("mallory-pass-1\n", "auth", "register", "--email", "mallory@example.com", "--password-stdin", "--setup-code", code), "invite-only")

	// A restart with an account prints no code and writes no file.
	s.stopOK()
	s2 := startServer(t, serverOpts{dataDir: dir})
	if strings.Contains(s2.stderr.String(), "setup_code") {
		t.Errorf("a server with an account printed a setup code:\n%s", s2.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "setup-code")); !os.IsNotExist(err) {
		t.Errorf("a server with an account wrote a setup code file: %v", err)
	}
}

// The browser's first-run page and the API share one code: the API's
// register spends it, and the page is then gone.
func TestFirstRunCodeIsSharedAndSpentOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	code := setupCodeOf(t, s.url)
	r := call(t, http.MethodPost, s.url+"/v1/auth/register", "", map[string]string{"email": "owner@example.com", "password": "owner-pass-1", "setup_code": strings.ToLower(code)})
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"role":"owner"`) {
		t.Fatalf("register with the code over the API: %s", r)
	}
	resp, err := httpClient.Get(s.url + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/setup after the owner exists: %d, want 404", resp.StatusCode)
	}
}

// Away from the server's data dir, the CLI takes the code from
// AGENT_VAULT_SETUP_CODE (the variable a container or a script sets).
func TestFirstRunCLITakesTheCodeFromTheEnvironment(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	code := setupCodeOf(t, s.url)
	dir := filepath.Join(t.TempDir(), "cli")
	r := runBin(t, "owner-pass-1\n", []string{"AGENT_VAULT_SETUP_CODE=" + code}, "--address", s.url, "--data-dir", dir,
		"auth", "register", "--email", "owner@example.com", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "(owner)") {
		t.Fatalf("register with the code in the environment:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, code) {
		t.Errorf("the CLI printed the setup code:\n%s", r)
	}
}

// On a terminal away from the server's data dir, the CLI asks for the
// code (a hidden prompt) when the server has no account yet. `script`
// gives the command a terminal.
func TestFirstRunCLIAsksForTheCodeOnATerminal(t *testing.T) {
	t.Parallel()
	script := rnTool(t, "script")
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	code := setupCodeOf(t, s.url)
	line := binPath + " --address " + s.url + " --data-dir " + filepath.Join(t.TempDir(), "cli") + " auth register"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", line, "/dev/null")
	cmd.Env = childEnv()
	cmd.Stdin = strings.NewReader(strings.ToLower(code) + "\nowner@example.com\nowner-pass-1\nowner-pass-1\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "(owner)") {
		t.Fatalf("register on a terminal: %v\n%s", err, out)
	}
	mustContain(t, "the prompt", string(out), "needs the one-time setup code", "Setup code:")
}
