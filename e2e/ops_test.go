package e2e

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVersionFromBuild: a binary linked with a release version and commit
// (as scripts/release.sh does) reports both, the same way in `version`,
// `--version`, /v1/status and agent_vault_build_info. (The toolchain's own
// VCS stamp is read by the same code: internal/version's unit tests.)
func TestVersionFromBuild(t *testing.T) {
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("SKIP: not a git checkout (%v): the VCS stamp cannot be checked", err)
	}
	commit := strings.TrimSpace(string(head))
	bin := filepath.Join(t.TempDir(), "agent-vault")
	const pkg = "github.com/agent-vault/agent-vault/internal/version."
	build := exec.Command("go", "build", "-ldflags", "-X "+pkg+"stamped=v9.8.7-test -X "+pkg+"stampedCommit="+commit+
		" -X "+pkg+"stampedTime=2026-12-06T04:00:00Z -X "+pkg+"stampedModified=true", "-o", bin, "./cmd/agent-vault")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = childEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	var v struct {
		Version, Commit, Time, GoVersion string `json:",omitempty"`
		Modified                         bool
	}
	if err := json.Unmarshal([]byte(run("version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != "v9.8.7-test" || v.Commit != commit || v.Time != "2026-12-06T04:00:00Z" || !v.Modified {
		t.Errorf("version --json = %+v, want v9.8.7-test at %s with a commit time", v, commit)
	}
	mustContain(t, "version", run("version"), "v9.8.7-test", commit[:12], "modified")
	mustContain(t, "--version", run("--version"), "v9.8.7-test", commit[:12], "modified")

	// The server, from the same binary.
	port, maddr := freePort(t), "127.0.0.1:"+strconv.Itoa(freePort(t))
	cmd := exec.Command(bin, "server", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--data-dir", t.TempDir(), "--metrics-addr", maddr)
	cmd.Env = childEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s := &server{t: t, url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	if err := s.waitHealthy(30 * time.Second); err != nil {
		t.Fatalf("server: %v\n%s", err, stderr.String())
	}
	var st struct {
		Version string `json:"version"`
		Build   struct {
			Commit, Time string
			Modified     bool
		} `json:"build"`
	}
	r := call(t, "GET", s.url+"/v1/status", "", nil)
	if err := json.Unmarshal(r.body, &st); err != nil || st.Version != "v9.8.7-test" || st.Build.Commit != commit || !st.Build.Modified {
		t.Errorf("/v1/status = %s, want version v9.8.7-test and commit %s", r.body, commit)
	}
	resp, err := httpClient.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	re := regexp.MustCompile(`agent_vault_build_info\{[^}]*modified="true",revision="` + commit + `"[^}]*version="v9\.8\.7-test"[^}]*\} 1`)
	if !re.Match(body) {
		t.Errorf("build_info does not carry the version and commit:\n%s", grepLines(string(body), "agent_vault_build_info"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestProbesLive: /healthz and /readyz on a real server with its proxy:
// no token needed, every check named, nothing secret in the answer.
func TestProbesLive(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{dataDir: t.TempDir(), env: masterPW("probe-master-pw"), args: []string{"--mitm-port", strconv.Itoa(freePort(t))}})
	r := call(t, "GET", s.url+"/healthz", "", nil)
	if r.status != 200 {
		t.Errorf("/healthz = %s", r)
	}
	r = call(t, "GET", s.url+"/readyz", "", nil)
	var rd struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(r.body, &rd); err != nil || r.status != 200 || rd.Status != "ok" ||
		rd.Checks["store"] != "ok" || rd.Checks["keyring"] != "ok" || rd.Checks["proxy"] != "ok" {
		t.Errorf("/readyz = %s, want 200 with store, keyring and proxy ok", r)
	}
	if strings.Contains(string(r.body), "probe-master-pw") {
		t.Errorf("/readyz holds the master password")
	}
	// `agent-vault health`, the container's health check.
	if h := runBin(t, "", nil, "health", "--url", s.url+"/readyz"); h.code != 0 || !strings.Contains(h.stdout, "ready") {
		t.Errorf("health against a ready server:\n%s", h)
	}
	// An agent's environment (AGENT_VAULT_TOKEN set) may check health too.
	if h := runBin(t, "", []string{"AGENT_VAULT_TOKEN=av_agt_not_a_real_token"}, "health", "--url", s.url+"/readyz"); h.code != 0 || !strings.Contains(h.stdout, "ready") {
		t.Errorf("health with AGENT_VAULT_TOKEN set:\n%s", h)
	}
	if h := runBin(t, "", []string{"PORT=" + strconv.Itoa(freePort(t))}, "health"); h.code == 0 || !strings.Contains(h.stderr, "does not answer") {
		t.Errorf("health with nothing listening should fail saying so:\n%s", h)
	}
}

// TestMasterPasswordFromFile: the server reads the master password from
// AGENT_VAULT_MASTER_PASSWORD_FILE, and from the systemd credential
// master-password in $CREDENTIALS_DIRECTORY; it never enters the
// environment; a wrong one in the file refuses to start.
func TestMasterPasswordFromFile(t *testing.T) {
	t.Parallel()
	const pw = "file-master-pw-0123"
	dataDir := filepath.Join(t.TempDir(), "server")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOpts{dataDir: dataDir, env: []string{"AGENT_VAULT_MASTER_PASSWORD_FILE=" + pwFile}})
	if strings.Contains(s.stderr.String(), "PASSWORDLESS") {
		t.Fatalf("the password from the file was not used:\n%s", s.stderr.String())
	}
	if env, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/environ"); err == nil && strings.Contains(string(env), pw) {
		t.Errorf("the master password is in the server's environment")
	}
	s.stopOK()

	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "master-password"), []byte(pw), 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, serverOpts{dataDir: dataDir, env: []string{"CREDENTIALS_DIRECTORY=" + creds}})
	s.stopOK()

	if err := os.WriteFile(pwFile, []byte("not-it\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut := expectStartFailure(t, serverOpts{dataDir: dataDir, env: []string{"AGENT_VAULT_MASTER_PASSWORD_FILE=" + pwFile}})
	mustContain(t, "wrong password in the file", errOut, "master password is wrong")
	if strings.Contains(errOut, "not-it") {
		t.Errorf("the error quotes the file's content:\n%s", errOut)
	}
}
