package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/sandbox"
	"github.com/agent-vault/agent-vault/pkg/agentvault"
)

// forwardedSignals reach the child as they reach `run`.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH, syscall.SIGUSR1, syscall.SIGUSR2}

func (a *app) runCmd() *cobra.Command {
	var ttl time.Duration
	var passEnv []string
	cmd := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Run an agent with its traffic brokered by Agent Vault",
		Long: `Run CMD with HTTPS_PROXY, HTTP_PROXY, NO_PROXY, AGENT_VAULT_ADDR, AGENT_VAULT_TOKEN,
AGENT_VAULT_VAULT and the CA variables (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS,
REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO, DENO_CERT) set, so that its
HTTP clients go through the broker proxy and trust its CA.

Logged in as a user, run mints a vault session for the resolved vault (--ttl)
and revokes it when CMD exits. With AGENT_VAULT_TOKEN and AGENT_VAULT_ADDR set
(a container, CI), it uses that token. run exits with CMD's exit code.

On Linux, CMD runs in a sandbox (unprivileged user, mount, network and PID
namespaces): it reaches only the broker (proxy and control plane), sees
the data dir, your CLI login and your session sockets as empty, and holds
no capability. --sandbox=required fails where namespaces are unavailable;
by default run then warns once and starts CMD without it; --no-sandbox
opts out. See docs/agents.md.

CMD gets the rest of your environment too, except the server's secrets
(AGENT_VAULT_MASTER_PASSWORD, AGENT_VAULT_SMTP_PASSWORD, the master
password's file named by AGENT_VAULT_MASTER_PASSWORD_FILE or
CREDENTIALS_DIRECTORY) and DATABASE_URL, which may be an Agent Vault
database's; --pass-env DATABASE_URL passes it when it is your project's
own. In the sandbox it goes without the variables naming your session's
sockets (TMUX, STY, DBUS_SESSION_BUS_ADDRESS, SSH_AUTH_SOCK, …) too.`,
		Args: cobra.MinimumNArgs(1),
	}
	setup := a.vaultScopedFlag(cmd)
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime of the minted session (default: the server's, 24h)")
	cmd.Flags().StringArrayVar(&passEnv, "pass-env", nil, "pass this withheld variable to CMD after all (only DATABASE_URL may be)")
	sb := addSandboxFlags(cmd)
	cmd.Flags().SetInterspersed(false) // flags after CMD belong to CMD
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		for _, name := range passEnv {
			if !agentvault.MayPass(name) {
				return fmt.Errorf("--pass-env %s: that variable is never passed to an agent (only DATABASE_URL may be)", name)
			}
		}
		code, err := a.run(cmd.Context(), setup, ttl, passEnv, args, sb)
		if err != nil {
			return err
		}
		if code != 0 {
			return exitCode(code)
		}
		return nil
	}
	return cmd
}

// vaultScopedFlag adds --vault and returns its value's resolver.
func (a *app) vaultScopedFlag(cmd *cobra.Command) func() (config.ResolvedVault, error) {
	var vault string
	cmd.Flags().StringVar(&vault, "vault", "", "vault name (default: the one 'agent-vault vault current' shows)")
	return func() (config.ResolvedVault, error) { return a.resolveVault(vault) }
}

// runPlan is what run sets up before starting the child.
type runPlan struct {
	addr, token, vault string
	scoped             bool // a vault session run minted (and revokes)
	sessionID          string
	proxyHost          string
	proxyPort          int
}

func (a *app) run(ctx context.Context, resolve func() (config.ResolvedVault, error), ttl time.Duration, passEnv, args []string, sb *sandboxFlags) (int, error) {
	mode, err := sb.mode()
	if err != nil {
		return 0, err
	}
	// CMD gets stdin, stdout and stderr and no other descriptor run
	// inherited (a shell's `exec 4<file`, an IDE's leaks): one open on the
	// CLI's session or on a host socket would reach past the sandbox, and
	// past another user's permissions (docs/agents.md, "The sandbox").
	// Always, not only with the sandbox: run as another user, CMD must
	// not get what the caller opened either.
	if err := sandbox.CloseInheritedOnExec(); err != nil {
		return 0, fmt.Errorf("closing the descriptors run inherited: %w", err)
	}
	plan, c, cleanup, err := a.prepareRun(ctx, resolve, ttl)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	cfg, err := a.clientConfig()
	if err != nil {
		return 0, err
	}
	dir, removeDir, err := runFilesDir(mode, cfg.DataDir)
	if err != nil {
		return 0, err
	}
	defer removeDir()
	ca, err := a.writeCAFiles(ctx, c, dir)
	defer ca.remove()
	if err != nil {
		return 0, err
	}
	env := func(p runPlan) []string {
		env := childEnv(p, ca)
		for _, name := range passEnv {
			if v, ok := os.LookupEnv(name); ok {
				env = append(env, name+"="+v)
			}
		}
		return env
	}
	// Catch signals before the child exists, so none that arrives as it
	// starts can kill run (orphaning the child) or be lost.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	child, err := a.startChild(mode, sb.hide, cfg.DataDir, dir, plan, env, args)
	if err != nil {
		return 0, err
	}
	done := make(chan int, 1)
	go func() { done <- child.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = child.Signal(s)
		case code := <-done:
			return code, nil
		}
	}
}

// exitStatus is the child's exit code, 128+signal when a signal killed it.
func exitStatus(st *os.ProcessState, err error) int {
	if st == nil {
		return 1
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := st.ExitCode(); code >= 0 {
		return code
	}
	if err != nil {
		return 1
	}
	return 0
}

// prepareRun resolves the token (minting a session in user mode), checks
// it once, and finds the proxy. It fails before any child starts.
func (a *app) prepareRun(ctx context.Context, resolve func() (config.ResolvedVault, error), ttl time.Duration) (runPlan, *client.Client, func(), error) {
	noop := func() {}
	var plan runPlan
	agent := config.LoadAgentEnv(nil)
	if agent.Token != "" && agent.Addr != "" {
		if ttl != 0 {
			return plan, nil, noop, errors.New("--ttl does not apply in agent mode (AGENT_VAULT_TOKEN is set): the token's own lifetime holds")
		}
		plan = runPlan{addr: strings.TrimRight(agent.Addr, "/"), token: agent.Token, vault: agent.Vault}
	} else {
		c, cfg, err := a.authed()
		if err != nil {
			return plan, nil, noop, fmt.Errorf("%w (or set AGENT_VAULT_TOKEN and AGENT_VAULT_ADDR to run as an agent)", err)
		}
		rv, err := resolve()
		if err != nil {
			return plan, nil, noop, err
		}
		if ttl%time.Second != 0 {
			return plan, nil, noop, fmt.Errorf("--ttl %s must be whole seconds", ttl)
		}
		s, err := c.CreateScopedSession(ctx, apitype.CreateScopedSessionRequest{Vault: rv.Name, TTLSeconds: int(ttl / time.Second), Label: "agent-vault run"})
		if err != nil {
			return plan, nil, noop, fmt.Errorf("minting a session for vault %s: %w", rv.Name, err)
		}
		plan = runPlan{addr: cfg.Address, token: s.Token, vault: s.Vault, scoped: true, sessionID: s.ID}
		noop = func() {
			if plan.sessionID != "" {
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, _ = c.RevokeScopedSession(rctx, plan.sessionID)
			}
		}
	}
	ac := client.New(client.Options{BaseURL: plan.addr, Token: plan.token})
	st, err := ac.Status(ctx)
	if err != nil {
		noop()
		return plan, nil, func() {}, err
	}
	d, err := ac.Discover(ctx, plan.vault)
	if err != nil {
		noop()
		which := "its vault"
		if plan.vault != "" {
			which = "vault " + plan.vault
		}
		return plan, nil, func() {}, fmt.Errorf("the token does not work for %s: %w", which, err)
	}
	plan.vault = d.Vault
	if st.ProxyPort == 0 {
		noop()
		return plan, nil, func() {}, fmt.Errorf("the server at %s runs without the broker proxy: start it with a --mitm-port", plan.addr)
	}
	u, _ := url.Parse(plan.addr)
	plan.proxyHost, plan.proxyPort = u.Hostname(), st.ProxyPort
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(plan.proxyHost, strconv.Itoa(plan.proxyPort)), 5*time.Second)
	if err != nil {
		noop()
		return plan, nil, func() {}, fmt.Errorf("the broker proxy at %s:%d is unreachable (%v): check the server's --mitm-port and your firewall", plan.proxyHost, plan.proxyPort, err)
	}
	conn.Close()
	return plan, ac, noop, nil
}

// caFiles are the CA files run writes for the child.
type caFiles struct{ caOnly, bundle string }

func (f caFiles) remove() {
	for _, p := range []string{f.caOnly, f.bundle} {
		if p != "" {
			_ = os.Remove(p)
		}
	}
}

// writeCAFiles writes the broker CA alone and the bundle (broker CA and
// system roots) into dir.
func (a *app) writeCAFiles(ctx context.Context, c *client.Client, dir string) (caFiles, error) {
	caPEM, err := c.CAPEM(ctx)
	if err != nil {
		return caFiles{}, fmt.Errorf("fetching the broker CA: %w", err)
	}
	if err := config.EnsureDir(dir); err != nil {
		return caFiles{}, err
	}
	// Unique per run: two runs that share a data dir (containers with the
	// same pid) never overwrite each other's files.
	base := filepath.Join(dir, "ca-"+strconv.Itoa(os.Getpid())+"-"+randomSuffix())
	f := caFiles{caOnly: base + ".pem", bundle: base + "-bundle.pem"}
	if err := os.WriteFile(f.caOnly, caPEM, 0o644); err != nil {
		return f, err
	}
	// Variables that replace the system store get the system roots too, so
	// hosts the broker tunnels untouched still verify.
	roots := config.SystemRootsPEM(nil)
	if err := os.WriteFile(f.bundle, append(append(append([]byte(nil), caPEM...), '\n'), roots...), 0o644); err != nil {
		return f, err
	}
	return f, nil
}

// childEnv is the child's environment for plan.
func childEnv(plan runPlan, ca caFiles) []string {
	set := agentvault.ProxyEnv(agentvault.ProxyEnvOptions{
		Addr: plan.addr, Token: plan.token, Vault: plan.vault, Scoped: plan.scoped,
		ProxyHost: plan.proxyHost, ProxyPort: plan.proxyPort,
		CAFile: ca.caOnly, CABundleFile: ca.bundle,
		ParentNoProxy: config.ParentNoProxy(nil),
	})
	return agentvault.MergeEnviron(os.Environ(), set)
}

// randomSuffix is 8 hex characters for file names.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
