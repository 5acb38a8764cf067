package e2e

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// podman runs podman with args and returns its combined output.
func podman(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("podman", args...).CombinedOutput()
	return string(out), err
}

// podmanRunArgs are the `podman run` options this machine needs: runc
// where it is installed (crun refuses hybrid cgroup v1/v2 hosts), and
// resource limits no higher than the caller's (a runtime without
// CAP_SYS_RESOURCE cannot raise them). Extra ones come from
// AGENT_VAULT_TEST_PODMAN_RUN_ARGS.
func podmanRunArgs() []string {
	var args []string
	if _, err := exec.LookPath("runc"); err == nil {
		args = append(args, "--runtime", "runc")
	}
	args = append(args, "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")
	return append(args, strings.Fields(os.Getenv("AGENT_VAULT_TEST_PODMAN_RUN_ARGS"))...)
}

// TestContainerImage builds the image from deploy/container/Containerfile
// with the static binary scripts/release.sh makes, offline (FROM scratch),
// runs it as its unprivileged user with the master password as a mounted
// file, and sends an agent's request through the broker proxy inside the
// container to an upstream on the host's loopback, with the credential
// injected. It skips, saying so, where podman is not installed.
func TestContainerImage(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("SKIP: podman is not installed (apt-get install podman buildah runc): the container image was NOT built or run")
	}
	if runtime.GOOS != "linux" {
		t.Skip("SKIP: the image holds a linux binary")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	rel := exec.Command("scripts/release.sh")
	rel.Dir = root
	rel.Env = append(os.Environ(), "TARGETS=linux/"+runtime.GOARCH, "OUT="+dist, "VERSION=v0.0.0-container-test")
	if out, err := rel.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release.sh: %v\n%s", err, out)
	}
	ctx := filepath.Join(dist, "container-linux-"+runtime.GOARCH)
	tag := fmt.Sprintf("localhost/agent-vault-e2e:%d", time.Now().UnixNano())
	if out, err := podman(t, "build", "--format", "docker", "--pull=never", "-t", tag, ctx); err != nil {
		t.Fatalf("podman build --format docker (offline, FROM scratch): %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = podman(t, "rmi", "-f", tag) })
	if out, err := podman(t, "image", "inspect", "--format", "{{.Size}} {{.Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.Healthcheck.Test}}", tag); err != nil {
		t.Fatal(out)
	} else {
		t.Logf("image: %s", strings.TrimSpace(out))
		mustContain(t, "image config", out, "65532:65532", "14321/tcp", "14322/tcp", "/data", "/agent-vault", "health")
	}

	ca := pxNewCA(t)
	up := pxStartUpstream(t, ca, pxAuthHandler("Bearer "+pxAPIKey))
	secrets := t.TempDir()
	pw := filepath.Join(secrets, "master-password")
	if err := os.WriteFile(pw, []byte("container-master-pw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	caCopy := filepath.Join(secrets, "upstream-ca.pem")
	if err := os.WriteFile(caCopy, []byte(readAll(t, ca.file)), 0o644); err != nil {
		t.Fatal(err)
	}
	port, mitm := freePort(t), freePort(t)
	name := fmt.Sprintf("agent-vault-e2e-%d", port)
	args := append([]string{"run", "-d", "--rm", "--name", name, "--network", "host"}, podmanRunArgs()...)
	args = append(args,
		"-e", "PORT="+strconv.Itoa(port), "-e", "AGENT_VAULT_MITM_PORT="+strconv.Itoa(mitm),
		"-e", "AGENT_VAULT_ALLOW_PRIVATE_RANGES=true", "-e", "AGENT_VAULT_MASTER_PASSWORD_FILE=/run/secrets/master-password",
		"-e", "AGENT_VAULT_UPSTREAM_CA_FILE=/run/secrets/upstream-ca.pem",
		// The operator's own setup code, as a Helm value or a secret sets it.
		"-e", "AGENT_VAULT_SETUP_CODE="+containerSetupCode,
		"-v", pw+":/run/secrets/master-password:ro", "-v", caCopy+":/run/secrets/upstream-ca.pem:ro", tag)
	if out, err := podman(t, args...); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := podman(t, "logs", name)
			t.Logf("container logs:\n%s", out)
		}
		_, _ = podman(t, "rm", "-f", "-t", "5", name)
	})
	s := &server{t: t, name: name, url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	serverSetupCodes.Store(s.url, func() (string, bool) { return containerSetupCode, true })
	if err := s.waitHealthy(60 * time.Second); err != nil {
		t.Fatalf("the container did not become healthy: %v", err)
	}
	// The image's own health check passes.
	if out, err := podman(t, "exec", name, "/agent-vault", "health"); err != nil {
		t.Errorf("/agent-vault health inside the container: %v\n%s", err, out)
	}
	if out, _ := podman(t, "logs", name); strings.Contains(out, "PASSWORDLESS") {
		t.Errorf("the container ignored the mounted master password:\n%s", out)
	}

	b := &pxBroker{t: t, srv: s, owner: newCLI(t, "owner", s.url), proxyAddr: "127.0.0.1:" + strconv.Itoa(mitm)}
	register(t, b.owner, "owner@example.com", "owner-pass-1")
	b.caFile = filepath.Join(t.TempDir(), "ca.pem")
	b.owner.ok("", "ca", "fetch", "-o", b.caFile)
	b.caPool = x509.NewCertPool()
	b.caPool.AppendCertsFromPEM([]byte(readAll(t, b.caFile)))
	b.creds("", map[string]string{"API_KEY": pxAPIKey})
	b.services("", "services:\n  - name: api\n    host: localhost:"+strconv.Itoa(up.port)+"\n    auth: {type: bearer, token: API_KEY}\n")
	tok := b.agent("bot")
	resp, err := b.client(tok, "default", false).Get(up.url() + "/v1/charges")
	if err != nil {
		t.Fatalf("a request through the container's proxy: %v", err)
	}
	body := b.read(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("through the container's proxy: %d %s", resp.StatusCode, body)
	}
	pxCheckInjected(t, up.last(t), "Bearer "+pxAPIKey)
	if out, _ := podman(t, "exec", name, "/agent-vault", "version"); !strings.Contains(out, "v0.0.0-container-test") {
		t.Errorf("version inside the container = %q", out)
	}
}

// containerSetupCode is the container test's preset first-run code.
const containerSetupCode = "container-e2e-setup-code-1"
