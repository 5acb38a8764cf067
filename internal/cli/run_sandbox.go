package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

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
