package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/daemon"
	"github.com/agent-vault/agent-vault/internal/secret"
)

func (a *app) serverCmd() *cobra.Command {
	var (
		f             config.ServerFlags
		detach        bool
		passwordStdin bool
		passwordFD    int
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Agent Vault server",
		Long: `Run the control plane (default 127.0.0.1:14321) on the embedded SQLite store in the data dir.

The master password is read from AGENT_VAULT_MASTER_PASSWORD (removed from the
environment after reading), then the first line of the file named by
AGENT_VAULT_MASTER_PASSWORD_FILE (or the systemd credential master-password in
$CREDENTIALS_DIRECTORY), then --password-stdin, then a prompt. Without one
the instance runs passwordless, with a warning.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.DataDir, f.Address = a.dataDir, a.address
			cfg, err := config.LoadServer(f, nil)
			if err != nil {
				return err
			}
			if !detach && passwordFD == 0 {
				// Re-exec so the password leaves /proc/<pid>/environ too.
				if v, ok := config.TakeMasterPassword(); ok {
					return daemon.ReexecWithPasswordFD(secret.FromString(v), config.EnvMasterPassword)
				}
			}
			pw := a.masterPasswordSource(passwordStdin, passwordFD)
			if detach {
				return a.detachServer(cfg, pw)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, daemon.Options{Config: cfg, Password: pw, Log: a.errOut, Build: build})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Host, "host", "", "interface to listen on (default 127.0.0.1)")
	fl.StringVar(&f.Port, "port", "", "control plane port (env PORT; default 14321)")
	fl.StringVar(&f.LogLevel, "log-level", "", "debug, info, warn or error (env AGENT_VAULT_LOG_LEVEL)")
	fl.StringVar(&f.MITMPort, "mitm-port", "", "broker proxy port, 0 to disable (env AGENT_VAULT_MITM_PORT; default 14322)")
	fl.StringVar(&f.UpstreamCAFile, "upstream-ca-file", "", "PEM bundle trusted for upstream TLS besides the system roots (env AGENT_VAULT_UPSTREAM_CA_FILE)")
	fl.StringVar(&f.MaxRequestBytes, "max-request-bytes", "", "largest proxied request body, e.g. 512m (env AGENT_VAULT_MAX_REQUEST_BYTES; default 1g)")
	fl.StringVar(&f.MaxResponseBytes, "max-response-bytes", "", "largest proxied response (env AGENT_VAULT_MAX_RESPONSE_BYTES; default unlimited)")
	fl.StringVar(&f.ProxyConns.IdleTimeout, "proxy-idle-timeout", "", "close a kept-alive proxy connection idle this long between requests (env AGENT_VAULT_PROXY_IDLE_TIMEOUT; default 90s)")
	fl.StringVar(&f.ProxyConns.BodyTimeout, "proxy-body-timeout", "", "cut a proxied request body that sends nothing this long (env AGENT_VAULT_PROXY_BODY_TIMEOUT; default 60s)")
	fl.StringVar(&f.ProxyConns.StreamIdleTimeout, "proxy-stream-idle-timeout", "", "close a proxy connection, tunnel or stream with no byte either way this long (env AGENT_VAULT_PROXY_STREAM_IDLE_TIMEOUT; default 15m)")
	fl.StringVar(&f.ProxyConns.MaxConnsPerIP, "proxy-max-conns-per-ip", "", "open proxy connections allowed from one client address (env AGENT_VAULT_PROXY_MAX_CONNS_PER_IP; default 1024)")
	fl.StringVar(&f.ProxyConns.MaxConns, "proxy-max-conns", "", "open proxy connections allowed in total (env AGENT_VAULT_PROXY_MAX_CONNS; default 8192)")
	fl.StringVar(&f.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9464 (env AGENT_VAULT_METRICS_ADDR; default off)")
	fl.StringVar(&f.DatabaseURL, "database-url", "", "PostgreSQL URL, postgres://user:password@host:5432/db, shared by several servers (env DATABASE_URL; default the SQLite file in the data dir)")
	fl.BoolVarP(&detach, "detach", "d", false, "run in the background (pid file and server.log in the data dir)")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "read the master password from the first line of standard input")
	fl.IntVar(&passwordFD, "password-fd", 0, "read the master password from this inherited file descriptor")
	_ = fl.MarkHidden("password-fd")
	cmd.AddCommand(a.serverStopCmd())
	return cmd
}

// masterPasswordSource returns the daemon's password source: the
// environment, then stdin with --password-stdin, then a terminal prompt.
// It reads each source at most once.
func (a *app) masterPasswordSource(fromStdin bool, fd int) daemon.PasswordFunc {
	var (
		done bool
		pw   secret.Bytes
		ok   bool
		err  error
	)
	nonInteractive := func() {
		if done {
			return
		}
		done = true
		if v, set := config.TakeMasterPassword(); set {
			pw, ok = secret.FromString(v), true
			return
		}
		if path, set := config.MasterPasswordFile(nil); set {
			var b []byte
			b, err = config.ReadPasswordFile(path)
			pw, ok = secret.New(b), err == nil
			return
		}
		if fd > 0 {
			f := os.NewFile(uintptr(fd), "password-fd")
			defer f.Close()
			var l string
			l, err = bufio.NewReader(f).ReadString('\n')
			pw, ok = secret.FromString(strings.TrimRight(l, "\r\n")), err == nil
			return
		}
		if fromStdin {
			var l string
			l, err = a.line()
			pw, ok = secret.FromString(l), err == nil
		}
	}
	return func(p daemon.PasswordPurpose) (secret.Bytes, bool, error) {
		nonInteractive()
		if ok || err != nil || p == daemon.PurposeCheck || !a.stdinIsTTY() {
			return pw, ok, err
		}
		switch p {
		case daemon.PurposeNew:
			fmt.Fprintln(a.errOut, "Choose a master password to encrypt this instance's data (empty for passwordless mode).")
			s, err := a.readSecret("New master password", true)
			return secret.FromString(s), err == nil && s != "", err
		default:
			s, err := a.readSecret("Master password", false)
			return secret.FromString(s), err == nil, err
		}
	}
}

// detachServer starts the server in the background and waits for it.
func (a *app) detachServer(cfg config.Server, pwf daemon.PasswordFunc) error {
	if cfg.Port == 0 {
		return errors.New("--detach needs a fixed port: pass --port (or PORT) with a number other than 0")
	}
	if pid, err := daemon.ReadPID(cfg.PIDPath()); err == nil && syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("a server is already running with this data dir (pid %d): stop it with `agent-vault server stop`", pid)
	}
	purpose := daemon.PurposeNew
	if _, err := os.Stat(cfg.DatabasePath()); err == nil || cfg.Database.Postgres() {
		protected, err := daemon.IsProtected(context.Background(), cfg.Database)
		switch {
		case err != nil:
			purpose = daemon.PurposeNew
		case protected:
			purpose = daemon.PurposeUnlock
		default:
			purpose = daemon.PurposeCheck
		}
	}
	pw, _, err := pwf(purpose)
	if err != nil {
		return err
	}
	if err := config.EnsureDir(cfg.DataDir); err != nil {
		return err
	}
	var args []string
	for _, s := range os.Args[1:] {
		if s == "-d" || s == "--detach" || strings.HasPrefix(s, "--detach=") {
			continue
		}
		args = append(args, s)
	}
	started, err := daemon.Detach(daemon.DetachOptions{
		Args: args, Password: pw, LogPath: cfg.LogPath(),
		HealthURL: "http://" + cfg.Listen() + "/health",
	})
	pw.Wipe()
	if err != nil {
		return err
	}
	// What the server warned about while starting (passwordless mode, the
	// first-run setup code) went to its log: say it here too.
	for _, w := range started.Warnings {
		fmt.Fprintln(a.errOut, "warning:", cell(w))
	}
	fmt.Fprintf(a.out, "Agent Vault is running in the background (pid %d) on http://%s\nLogs: %s\nStop it with `agent-vault server stop`.\n", started.PID, cfg.Listen(), cfg.LogPath())
	return nil
}

func (a *app) serverStopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "Stop the server running with this data dir",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := config.DataDir(a.dataDir, nil)
			if err != nil {
				return err
			}
			pid, err := daemon.Stop(dir, 40*time.Second)
			if errors.Is(err, daemon.ErrNotRunning) {
				return fmt.Errorf("no server is running for data dir %s", dir)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "Stopped the server (pid %d).\n", pid)
			return nil
		},
	}
}
