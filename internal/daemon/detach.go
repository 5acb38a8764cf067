package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/agent-vault/agent-vault/internal/secret"
)

// DetachOptions describe the background server to start.
type DetachOptions struct {
	Exe       string   // the binary; os.Executable() when empty
	Args      []string // arguments for the child (without -d)
	Password  secret.Bytes
	LogPath   string // the child's stdout and stderr
	HealthURL string // polled until the child answers
	Timeout   time.Duration
}

// Detached is a background server that answered.
type Detached struct {
	PID int
	// Warnings are the warnings the server logged while it started
	// (passwordless mode, the first-run setup code), for the terminal:
	// its own output goes only to the log.
	Warnings []string
}

// Detach starts the server as a background process in its own session and
// waits until it answers on HealthURL. The master password, if any, reaches
// the child through a pipe, never its arguments or environment. When the
// child exits first, the error is the one it printed.
func Detach(o DetachOptions) (Detached, error) {
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return Detached{}, err
		}
		o.Exe = exe
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	logf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Detached{}, fmt.Errorf("opening the server log %s: %w", o.LogPath, err)
	}
	defer logf.Close()
	var from int64
	if fi, err := logf.Stat(); err == nil {
		from = fi.Size() // this start's lines come after
	}
	args := o.Args
	if !o.Password.IsEmpty() {
		args = append(append([]string(nil), args...), "--password-stdin")
	}
	cmd := exec.Command(o.Exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = os.Environ()
	if !o.Password.IsEmpty() {
		cmd.Stdin = bytes.NewReader(append(append([]byte(nil), o.Password.Reveal()...), '\n'))
	}
	if err := cmd.Start(); err != nil {
		return Detached{}, fmt.Errorf("starting the background server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	deadline := time.Now().Add(o.Timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return Detached{}, fmt.Errorf("the background server did not start: %s (%v; the whole log is %s)", startError(readFrom(o.LogPath, from)), err, o.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, o.HealthURL, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return Detached{PID: cmd.Process.Pid, Warnings: logWarnings(readFrom(o.LogPath, from))}, nil
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	return Detached{}, fmt.Errorf("the background server did not answer within %s; its last words: %s (the whole log is %s)", o.Timeout, startError(readFrom(o.LogPath, from)), o.LogPath)
}

// readFrom reads what the log gained after offset from (at most 64 KiB
// of it, the end).
func readFrom(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const most = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size()-from > most {
		from = fi.Size() - most
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, from, most))
	return string(b)
}
