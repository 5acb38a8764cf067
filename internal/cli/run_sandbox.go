package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/sandbox"
)

// Sandbox modes of `run` (docs/agents.md).
const (
	sandboxAuto     = "auto"     // sandbox when possible, else one warning
	sandboxRequired = "required" // sandbox or fail
	sandboxOff      = "off"      // today's plain child
)

// sandboxFlags are run's --sandbox, --no-sandbox and --hide.
type sandboxFlags struct {
	sandbox string
	off     *bool
	hide    []string
}

func addSandboxFlags(cmd *cobra.Command) *sandboxFlags {
	sb := &sandboxFlags{off: new(bool)}
	f := cmd.Flags()
	f.StringVar(&sb.sandbox, "sandbox", sandboxAuto, "auto (Linux namespaces when available, else a warning), required (fail without them) or off")
	f.BoolVar(sb.off, "no-sandbox", false, "run CMD without the sandbox (same as --sandbox=off)")
	f.StringArrayVar(&sb.hide, "hide", nil, "also hide this directory or file from CMD (repeatable; e.g. a server's data dir elsewhere)")
	return sb
}

func (sb *sandboxFlags) mode() (string, error) {
	switch sb.sandbox {
	case sandboxAuto, sandboxRequired, sandboxOff:
	default:
		return "", fmt.Errorf("--sandbox %q: use auto, required or off", sb.sandbox)
	}
	if *sb.off {
		if sb.sandbox == sandboxRequired {
			return "", errors.New("--no-sandbox and --sandbox=required contradict each other: choose one")
		}
		return sandboxOff, nil
	}
	return sb.sandbox, nil
}

// runFilesDir is where the CA files go: the data dir without the sandbox
// (as always), a private temporary directory with it (the data dir is
// hidden inside).
func runFilesDir(mode, dataDir string) (string, func(), error) {
	if mode == sandboxOff {
		return filepath.Join(dataDir, "run"), func() {}, nil
	}
	dir, err := os.MkdirTemp("", "agent-vault-run-")
	if err != nil {
		return "", func() {}, fmt.Errorf("creating a directory for the CA files: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// runChild is the started CMD, sandboxed or not.
type runChild interface {
	Signal(os.Signal) error
	Wait() int
}

// plainChild is CMD started without a sandbox.
type plainChild struct{ cmd *exec.Cmd }

func (p plainChild) Signal(s os.Signal) error { return p.cmd.Process.Signal(s) }
func (p plainChild) Wait() int {
	err := p.cmd.Wait()
	return exitStatus(p.cmd.ProcessState, err)
}

// startChild starts CMD in the sandbox the mode asks for, falling back
// (auto only) to a plain child with one warning.
func (a *app) startChild(mode string, extraHide []string, dataDir, filesDir string, plan runPlan, env func(runPlan) []string, args []string) (runChild, error) {
	if mode != sandboxOff {
		path, err := exec.LookPath(args[0])
		if err != nil {
			return nil, fmt.Errorf("starting %s: %w", args[0], err)
		}
		inside, relays := plan.insideSandbox()
		wd, _ := os.Getwd()
		p, err := sandbox.Start(sandbox.Config{
			Path: path, Args: args, Env: sandboxEnv(env(inside)),
			Hide:   hiddenPaths(dataDir, extraHide, os.Getenv, []string{wd, filesDir, path}),
			Relays: relays,
			Stdin:  os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		})
		switch {
		case err == nil:
			return p, nil
		case !errors.Is(err, sandbox.ErrUnavailable):
			return nil, err
		case sandbox.Inside():
			// run inside run: the outer sandbox holds this one's child too.
			mode = sandboxOff
		case mode == sandboxRequired:
			return nil, fmt.Errorf("%v: --sandbox=required refuses to run without it (see docs/agents.md for containers and other users)", err)
		}
		if mode != sandboxOff {
			fmt.Fprintf(a.errOut, "warning: %v; %s runs WITHOUT the sandbox: it can read your Agent Vault data dir and CLI session and connect anywhere directly, not only through the broker (--no-sandbox silences this; see docs/agents.md)\n", err, args[0])
		}
	}
	child := exec.Command(args[0], args[1:]...)
	child.Env = env(plan)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", args[0], err)
	}
	return plainChild{child}, nil
}

// insideSandbox is the plan as the sandboxed child sees it, and the relays
// that make it true: the proxy and the control plane listen inside on the
// same loopback address, or on 127.0.0.1 when the server is named some
// other way (no DNS inside).
func (p runPlan) insideSandbox() (runPlan, []sandbox.Relay) {
	in := p
	var relays []sandbox.Relay
	inHost := loopbackOr(p.proxyHost)
	in.proxyHost = inHost
	relays = append(relays, sandbox.Relay{
		Listen: net.JoinHostPort(inHost, strconv.Itoa(p.proxyPort)),
		Dial:   net.JoinHostPort(p.proxyHost, strconv.Itoa(p.proxyPort)),
	})
	u, err := url.Parse(p.addr)
	if err != nil {
		return in, relays
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if port != strconv.Itoa(p.proxyPort) || loopbackOr(u.Hostname()) != inHost {
		relays = append(relays, sandbox.Relay{
			Listen: net.JoinHostPort(loopbackOr(u.Hostname()), port),
			Dial:   net.JoinHostPort(u.Hostname(), port),
		})
	}
	u.Host = net.JoinHostPort(loopbackOr(u.Hostname()), port)
	in.addr = u.String()
	return in, relays
}

// loopbackOr keeps a loopback IP address, else names 127.0.0.1.
func loopbackOr(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return host
	}
	return "127.0.0.1"
}

// hiddenPaths are what the sandboxed child must not see: Agent Vault's
// data dirs (the server's database and the CLI session), the server's
// master password file (AGENT_VAULT_MASTER_PASSWORD_FILE, systemd's
// $CREDENTIALS_DIRECTORY), and the sockets through which a process could
// act outside the sandbox as the user: the runtime dirs (D-Bus, systemd,
// Wayland, PulseAudio, gpg-agent, keyrings), X11, tmux and screen, the
// ssh and gpg agents, Docker, and wherever the session's variables say
// such a socket is (sessionPaths). env is the caller's environment; keep
// are paths CMD needs (its working directory, the CA files, the program),
// whose directories are never hidden whole (see ownDir).
func hiddenPaths(dataDir string, extra []string, env func(string) string, keep []string) []string {
	out := []string{dataDir}
	if def, err := config.DataDir("", func(string) string { return "" }); err == nil && def != dataDir {
		out = append(out, def)
	}
	home := env("HOME")
	if home != "" {
		out = append(out, filepath.Join(home, ".config", "agent-vault"))
		keep = append(slices.Clip(keep), home)
	}
	// The master password's file, alone: its directory may be anything.
	if p, ok := config.MasterPasswordFile(env); ok {
		out = append(out, absPath(p))
	}
	if d := env("CREDENTIALS_DIRECTORY"); d != "" {
		out = append(out, hideDir(absPath(d), filepath.Join(absPath(d), config.CredentialName), keep))
	}
	uid := strconv.Itoa(os.Getuid())
	// gpg-agent's sockets are under /run/user/<uid> whatever
	// XDG_RUNTIME_DIR says.
	out = append(out, "/run/user/"+uid)
	if rt := env("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) {
		out = append(out, rt)
	}
	// The system bus too: through it polkit lets the console's user
	// mount disks or change the network. And the default Kerberos ticket
	// cache, which signs the user in to services (KRB5CCNAME below).
	// sssd's Kerberos cache service (KCM), which knows the caller by its
	// uid: the default cache on Fedora and RHEL. Zellij's and Emacs's
	// servers when there is no runtime dir.
	out = append(out, "/tmp/.X11-unix", "/tmp/tmux-"+uid, "/run/docker.sock", "/var/run/docker.sock",
		"/run/screen", "/var/run/screen", "/run/dbus", "/var/run/dbus", "/tmp/krb5cc_"+uid,
		"/run/.heim_org.h5l.kcm-socket", "/var/run/.heim_org.h5l.kcm-socket", "/tmp/zellij-"+uid, "/tmp/emacs"+uid)
	if d := env("TMUX_TMPDIR"); filepath.IsAbs(d) {
		out = append(out, filepath.Join(d, "tmux-"+uid))
	}
	// screen's own socket directory, else the session's socket in it.
	if d := env("SCREENDIR"); filepath.IsAbs(d) {
		orElse := ""
		if sty := env("STY"); sty != "" && !strings.Contains(sty, "/") {
			orElse = filepath.Join(d, sty)
		}
		out = append(out, hideDir(d, orElse, keep))
	}
	// screen's sockets where it keeps them without /run/screen, and
	// gpg-agent's when they are not in the runtime dir: the whole GnuPG
	// home, so that a restarted agent's new socket is hidden too (the
	// keyring goes with it).
	// ssh's too, whose ControlMaster sockets run commands on other hosts
	// (and whose keys are yours), and Docker Desktop's sockets.
	for _, d := range []string{filepath.Join(home, ".screen"), env("GNUPGHOME"), filepath.Join(home, ".gnupg"),
		filepath.Join(home, ".ssh"), filepath.Join(home, ".docker", "desktop"), filepath.Join(home, ".docker", "run")} {
		if filepath.IsAbs(d) {
			out = append(out, hideDir(d, "", keep))
		}
	}
	for _, p := range sessionPaths(env) {
		out = append(out, hideNear(p, uid, keep))
	}
	for _, h := range extra {
		if abs, err := filepath.Abs(h); err == nil {
			out = append(out, abs)
		}
	}
	seen := map[string]bool{"": true}
	return slices.DeleteFunc(out, func(p string) bool {
		dup := seen[p]
		seen[p] = true
		return dup
	})
}

// sessionVars name the user's session sockets (tmux's, screen's, D-Bus's,
// the ssh and gpg agents', Wayland's): through one a process asks a server
// outside the sandbox to act as the user (`tmux -S "${TMUX%%,*}"
// run-shell CMD` runs CMD outside). The sandbox hides what they name
// (sessionPaths) and withholds them from CMD (sandboxEnv). Only with the
// sandbox: without it CMD reaches these sockets anyway (docs/agents.md,
// "The sandbox"), and ssh, git or tmux-aware tools started by a human
// with --no-sandbox keep working; inside they would only name hidden
// sockets.
var sessionVars = []string{"TMUX", "TMUX_PANE", "STY", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "WAYLAND_DISPLAY", "KRB5CCNAME",
	"DOCKER_HOST", "NVIM", "KITTY_LISTEN_ON"}

// sessionPaths are the socket paths the session's variables name: $TMUX
// ("socket,pid,session"), $DBUS_SESSION_BUS_ADDRESS (unix:path=… among
// ;-separated addresses), $SSH_AUTH_SOCK, $GPG_AGENT_INFO
// ("socket:pid:1"), an absolute $WAYLAND_DISPLAY, the Kerberos ticket
// cache $KRB5CCNAME names, $DOCKER_HOST (unix://…), $NVIM and
// $KITTY_LISTEN_ON (unix:…). ($STY names a
// session, not a path: screen's socket directories are hidden whole.)
func sessionPaths(env func(string) string) []string {
	var out []string
	add := func(p string) {
		if filepath.IsAbs(p) {
			out = append(out, filepath.Clean(p))
		}
	}
	tmux, _, _ := strings.Cut(env("TMUX"), ",")
	add(tmux)
	for _, addr := range strings.Split(env("DBUS_SESSION_BUS_ADDRESS"), ";") {
		transport, params, _ := strings.Cut(addr, ":")
		if transport != "unix" {
			continue
		}
		for _, kv := range strings.Split(params, ",") {
			if k, v, _ := strings.Cut(kv, "="); k == "path" {
				if p, err := url.PathUnescape(v); err == nil {
					add(p)
				}
			}
		}
	}
	add(env("SSH_AUTH_SOCK"))
	gpg, _, _ := strings.Cut(env("GPG_AGENT_INFO"), ":")
	add(gpg)
	add(env("WAYLAND_DISPLAY"))
	// A Kerberos ticket cache: "FILE:path", "DIR:path" or a bare path
	// (other kinds live in the kernel's keyring or a daemon).
	switch kind, rest, ok := strings.Cut(env("KRB5CCNAME"), ":"); {
	case !ok:
		add(kind)
	case kind == "FILE":
		add(rest)
	case kind == "DIR":
		// "DIR:dir", or "DIR::dir/tkt" for one cache of the collection.
		if file, ok := strings.CutPrefix(rest, ":"); ok {
			add(filepath.Dir(file))
		} else {
			add(rest)
		}
	}
	// Docker's daemon (unix:///path), the Neovim and kitty that the agent
	// may be running in (their remote control runs commands as you).
	if p, ok := strings.CutPrefix(env("DOCKER_HOST"), "unix://"); ok {
		add(p)
	}
	add(env("NVIM"))
	if p, ok := strings.CutPrefix(env("KITTY_LISTEN_ON"), "unix:"); ok {
		add(p)
	}
	return out
}

// sandboxEnv is env without sessionVars, for CMD in the sandbox.
func sandboxEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(sessionVars, k)
	})
}

// hideNear is what hides the socket at p: its directory when that is the
// one tmux, ssh-agent or an old gpg-agent made for its sockets
// (tmux-<uid>, ssh-XXXX, gpg-XXXX), else p alone: a directory chosen with
// `tmux -S` may hold what CMD needs. A hidden directory stays hidden when
// a socket in it is deleted and made again (a server restarts); a socket
// hidden alone is uncovered then (the kernel drops a mount whose mount
// point is deleted).
func hideNear(p, uid string, keep []string) string {
	d := filepath.Dir(p)
	base := filepath.Base(d)
	if (base == "tmux-"+uid || strings.HasPrefix(base, "ssh-") || strings.HasPrefix(base, "gpg-")) && ownDir(d, keep) {
		return d
	}
	return p
}

// hideDir is what hides the directory d: d itself, unless CMD needs it
// (ownDir), then the file orElse in it ("" for none).
func hideDir(d, orElse string, keep []string) string {
	if ownDir(d, keep) {
		return d
	}
	return orElse
}

// ownDir reports whether the directory d may be hidden whole: not /, nor
// a directory just below it (/tmp, /run, /home); not a shared one (sticky
// or writable by all: /var/tmp, /dev/shm); nor one holding anything in
// keep (the home and working directories, the CA files, the program).
func ownDir(d string, keep []string) bool {
	d = realPath(d)
	if d == "/" || filepath.Dir(d) == "/" {
		return false
	}
	st, err := os.Stat(d)
	if err != nil || !st.IsDir() || st.Mode()&os.ModeSticky != 0 || st.Mode().Perm()&0o002 != 0 {
		return false
	}
	for _, k := range keep {
		if k = realPath(k); k == d || strings.HasPrefix(k, d+string(filepath.Separator)) {
			return false
		}
	}
	return true
}

// realPath is p absolute with its symbolic links resolved as far as they
// exist, as a mount sees it.
func realPath(p string) string {
	p = absPath(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
