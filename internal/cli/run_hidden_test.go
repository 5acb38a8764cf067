package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestHiddenPathsFromEnvironment: the sandbox hides what the caller's
// environment names: the session sockets ($TMUX, $SSH_AUTH_SOCK, D-Bus,
// gpg-agent, a tmux or screen directory elsewhere), each with its
// directory when that is the one tmux, ssh-agent or gpg-agent made for it,
// else alone (never a shared directory, /tmp-like, nor one holding the
// working directory, the home or the CA files), and the master password's
// file.
func TestHiddenPathsFromEnvironment(t *testing.T) {
	root := t.TempDir()
	mk := func(parts ...string) string {
		d := filepath.Join(append([]string{root}, parts...)...)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		return d
	}
	uid := strconv.Itoa(os.Getuid())
	shared := mk("shared")
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	work, home, files := mk("work"), mk("home"), mk("home", "ssh-tmp", "agent-vault-run-1")
	mk("home", ".ssh")
	mk("home", ".docker", "desktop")
	tmuxDir, sshDir, gpgDir, runtime := mk("tmux-tmpdir", "tmux-"+uid), mk("ssh-AbCd1234"), mk("gpg-XyZ"), mk("runtime")
	other, creds, screen := mk("other"), mk("credentials", "agent-vault.service"), mk("screens")
	sharedTmux := mk("shared", "tmux-"+uid)
	if err := os.Chmod(sharedTmux, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		env        map[string]string
		hide, show []string
	}{
		{
			name: "sockets in the directories their servers made",
			env: map[string]string{
				"TMUX":                     filepath.Join(tmuxDir, "default") + ",4242,0",
				"SSH_AUTH_SOCK":            filepath.Join(sshDir, "agent.4241"),
				"DBUS_SESSION_BUS_ADDRESS": "unix:abstract=/tmp/dbus-x,guid=1;unix:path=" + filepath.Join(runtime, "bus%20sock") + ",guid=2",
				"GPG_AGENT_INFO":           filepath.Join(gpgDir, "S.gpg-agent") + ":4243:1",
				"XDG_RUNTIME_DIR":          runtime,
				"TMUX_TMPDIR":              other,
				"SCREENDIR":                screen,
				"STY":                      "4244.pts-0.host",
				"KRB5CCNAME":               "FILE:" + filepath.Join(other, "krb5cc_x"),
				"DOCKER_HOST":              "unix://" + filepath.Join(other, "docker.sock"),
				"NVIM":                     filepath.Join(other, "nvim.1.0"),
				"KITTY_LISTEN_ON":          "unix:" + filepath.Join(other, "kitty"),
			},
			hide: []string{tmuxDir, sshDir, gpgDir, runtime, filepath.Join(runtime, "bus sock"), "/run/user/" + uid,
				filepath.Join(other, "tmux-"+uid), screen, "/run/screen", "/run/dbus", "/tmp/krb5cc_" + uid, filepath.Join(other, "krb5cc_x"),
				"/run/.heim_org.h5l.kcm-socket", "/tmp/zellij-" + uid, "/tmp/emacs" + uid, filepath.Join(home, ".ssh"),
				filepath.Join(home, ".docker", "desktop"), filepath.Join(other, "docker.sock"), filepath.Join(other, "nvim.1.0"), filepath.Join(other, "kitty")},
			show: []string{root, other},
		},
		{
			name: "sockets elsewhere, or in a directory shared or needed: the socket alone",
			env: map[string]string{
				"TMUX":                     filepath.Join(other, "tmux.sock") + ",4242,0", // tmux -S
				"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + filepath.Join(shared, "dbus-x"),
				"SSH_AUTH_SOCK":            filepath.Join(home, "ssh-tmp", "agent.sock"), // holds the CA files' directory
				"GPG_AGENT_INFO":           filepath.Join(sharedTmux, "S.gpg-agent") + ":1:1",
				"WAYLAND_DISPLAY":          filepath.Join(home, "wayland-0"),
				"SCREENDIR":                work,
				"STY":                      "4244.pts-0.host",
				"KRB5CCNAME":               "DIR::" + filepath.Join(other, "krb5cc.d", "tkt"),
			},
			hide: []string{filepath.Join(other, "krb5cc.d"), filepath.Join(other, "tmux.sock"), filepath.Join(shared, "dbus-x"), filepath.Join(home, "ssh-tmp", "agent.sock"),
				filepath.Join(sharedTmux, "S.gpg-agent"), filepath.Join(home, "wayland-0"), filepath.Join(work, "4244.pts-0.host")},
			show: []string{other, shared, sharedTmux, work, home, filepath.Join(home, "ssh-tmp")},
		},
		{
			name: "the master password's file and the systemd credentials",
			env: map[string]string{
				"AGENT_VAULT_MASTER_PASSWORD_FILE": filepath.Join(other, "master-password"),
				"CREDENTIALS_DIRECTORY":            creds,
			},
			hide: []string{filepath.Join(other, "master-password"), creds},
			show: []string{other},
		},
		{
			name: "systemd credentials in a directory holding the working directory: the file alone",
			env:  map[string]string{"CREDENTIALS_DIRECTORY": root},
			hide: []string{filepath.Join(root, "master-password")},
			show: []string{root},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["HOME"] = home
			got := hiddenPaths(filepath.Join(root, "data"), nil, func(k string) string { return tc.env[k] }, []string{work, files})
			for _, p := range tc.hide {
				if !slices.Contains(got, p) {
					t.Errorf("%s is not hidden: %q", p, got)
				}
			}
			for _, p := range tc.show {
				if slices.Contains(got, p) {
					t.Errorf("%s is hidden: %q", p, got)
				}
			}
		})
	}
}

// TestSandboxEnvWithholdsSessionSockets: CMD in the sandbox does not get
// the variables that name the human's session sockets; the rest passes.
func TestSandboxEnvWithholdsSessionSockets(t *testing.T) {
	env := []string{"PATH=/bin", "TMUX=/tmp/s,1,0", "TMUX_PANE=%0", "STY=1.pts-0.h", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1/bus",
		"SSH_AUTH_SOCK=/tmp/ssh-x/agent.1", "GPG_AGENT_INFO=/tmp/g:1:1", "WAYLAND_DISPLAY=wayland-0", "KRB5CCNAME=FILE:/tmp/krb5cc_1", "DOCKER_HOST=unix:///d.sock", "NVIM=/tmp/n", "KITTY_LISTEN_ON=unix:/tmp/k", "XDG_RUNTIME_DIR=/run/user/1",
		"HTTPS_PROXY=http://t@127.0.0.1:2"}
	orig := slices.Clone(env)
	got := sandboxEnv(env)
	want := []string{"PATH=/bin", "XDG_RUNTIME_DIR=/run/user/1", "HTTPS_PROXY=http://t@127.0.0.1:2"}
	if !slices.Equal(got, want) {
		t.Fatalf("sandboxEnv =\n %q\nwant\n %q", got, want)
	}
	if !slices.Equal(env, orig) {
		t.Errorf("sandboxEnv changed its argument: %q", env)
	}
}
