package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// freePort is a port nothing listens on right now.
// freePorts picks three distinct free ports, holding each until all are
// picked so that no two are the same.
func freePorts(t *testing.T) ports {
	t.Helper()
	var got [3]int
	for i := range got {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		got[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports{got[0], got[1], got[2]}
}

// occupy holds a port until release is called (or the test ends).
func occupy(t *testing.T, port int) (release func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return func() { _ = ln.Close() }
}

// mustBeFree fails unless port can be listened on again.
func mustBeFree(t *testing.T, what string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Errorf("%s port %d is still bound after the failed start: %v", what, port, err)
		return
	}
	_ = ln.Close()
}

type ports struct{ main, proxy, metrics int }

func daemonConfig(dir string, p ports) config.Server {
	return config.Server{Host: "127.0.0.1", Port: p.main, DataDir: dir, MITMPort: p.proxy, MetricsAddr: "127.0.0.1:" + strconv.Itoa(p.metrics),
		Database: config.Database{Path: filepath.Join(dir, "agent-vault.db")}, LogsMaxRows: 100}
}

func passwordless(PasswordPurpose) (secret.Bytes, bool, error) { return secret.Bytes{}, false, nil }

// startDaemon starts the daemon and returns once it serves, with the
// function that stops it and returns Run's error; or Run's error when the
// start failed.
func startDaemon(cfg config.Server) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Password: passwordless, Log: io.Discard, Ready: func(string) { close(ready) }})
	}()
	select {
	case <-ready:
		return func() error { cancel(); return <-done }, nil
	case err := <-done:
		cancel()
		return nil, err
	}
}

// runUntilReady is startDaemon for a start that must succeed.
func runUntilReady(t *testing.T, cfg config.Server) (stop func() error) {
	t.Helper()
	stop, err := startDaemon(cfg)
	if err != nil {
		t.Fatalf("the daemon did not start: %v", err)
	}
	return stop
}

// A start that fails at any stage releases everything it took: the
// listeners bound before the failure, the pid file and the database, so
// that the same server starts right after on the same ports and data dir;
// and a server stopped normally leaves its ports free too.
func TestFailedStartLeaksNothing(t *testing.T) {
	defer func(k keyring.KDFParams) { KDF = k }(KDF)
	KDF = keyring.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	cases := []struct {
		name    string
		prepare func(t *testing.T, cfg *config.Server, p ports) (release func())
		wantErr string
		free    []string // the ports that were bound before the failure
	}{
		{"the control plane's port is taken", func(t *testing.T, _ *config.Server, p ports) func() { return occupy(t, p.main) },
			"cannot listen on", []string{"proxy", "metrics"}},
		{"the metrics port is taken", func(t *testing.T, _ *config.Server, p ports) func() { return occupy(t, p.metrics) },
			"metrics", []string{"main", "proxy"}},
		{"the upstream CA file is unreadable", func(t *testing.T, cfg *config.Server, _ ports) func() {
			cfg.UpstreamCAFile = filepath.Join(t.TempDir(), "missing.pem")
			return func() {}
		}, "missing.pem", []string{"main", "metrics", "proxy"}},
		{"the proxy's port is taken", func(t *testing.T, _ *config.Server, p ports) func() { return occupy(t, p.proxy) },
			"broker proxy", []string{"main", "metrics"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			// The data dir holds a database already, as on a restart. On
			// a busy machine another process may take a picked port
			// before the daemon binds it: pick again then.
			var p ports
			var cfg config.Server
			for try := 0; ; try++ {
				p = freePorts(t)
				cfg = daemonConfig(dir, p)
				stop, err := startDaemon(cfg)
				if err == nil {
					if err := stop(); err != nil {
						t.Fatalf("stopping the first start: %v", err)
					}
					break
				}
				if try == 4 || !strings.Contains(err.Error(), "address already in use") {
					t.Fatalf("the daemon did not start: %v", err)
				}
			}
			bad := cfg
			sub, cancelSub := context.WithCancel(context.Background())
			defer cancelSub()
			release := c.prepare(t, &bad, p)
			err := Run(sub, Options{Config: bad, Password: passwordless, Log: io.Discard,
				Ready: func(string) { t.Error("a start meant to fail served") }})
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Run = %v, want an error about %q", err, c.wantErr)
			}
			byName := map[string]int{"main": p.main, "proxy": p.proxy, "metrics": p.metrics}
			for _, n := range c.free {
				mustBeFree(t, n, byName[n])
			}
			if _, err := os.Stat(cfg.PIDPath()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the pid file outlived the failed start: %v", err)
			}
			release()
			// Everything was released: the same server starts again.
			if err := runUntilReady(t, cfg)(); err != nil {
				t.Fatalf("restart after the failed start: %v", err)
			}
			for n, port := range byName {
				mustBeFree(t, n, port)
			}
		})
	}
}

// The owner undoes newest first, each undo once.
func TestOwnerUndoesNewestFirstOnce(t *testing.T) {
	var o owner
	var got []int
	for i := range 3 {
		o.onClose(func() { got = append(got, i) })
	}
	o.close()
	o.close()
	if len(got) != 3 || got[0] != 2 || got[1] != 1 || got[2] != 0 {
		t.Fatalf("undo order %v, want [2 1 0]", got)
	}
}
