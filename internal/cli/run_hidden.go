package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/config"
)

// What `run`'s sandbox hides from CMD and withholds from its environment
// (docs/agents.md, "The sandbox"): Agent Vault's own files, and the
// sockets and files through which CMD could act as the user outside it.

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
	// X11, tmux, Docker and screen; the system bus (through it polkit
	// lets the console's user mount disks or change the network); the
	// Kerberos ticket caches, which sign the user in to services: the
	// default file (KRB5CCNAME below names others) and sssd's cache
	// service (KCM, the default on Fedora and RHEL), which knows the
	// caller by its uid; Zellij's and Emacs's servers when there is no
	// runtime dir.
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
	// Whole directories of sockets: screen's where it keeps them without
	// /run/screen; gpg-agent's when they are not in the runtime dir (the
	// whole GnuPG home, so that a restarted agent's new socket is hidden
	// too; the keyring goes with it); ssh's, whose ControlMaster sockets
	// run commands on other hosts (and whose keys are yours); Docker
	// Desktop's.
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
