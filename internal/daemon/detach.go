package daemon

import (
	"bytes"
	"context"
	"fmt"
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

// Detach starts the server as a background process in its own session and
// waits until it answers on HealthURL. The master password, if any, reaches
// the child through a pipe, never its arguments or environment.
func Detach(o DetachOptions) (int, error) {
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return 0, err
		}
		o.Exe = exe
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	logf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("opening the server log %s: %w", o.LogPath, err)
	}
	defer logf.Close()
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
		return 0, fmt.Errorf("starting the background server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	deadline := time.Now().Add(o.Timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("the background server exited (%v); see %s", err, o.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, o.HealthURL, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd.Process.Pid, nil
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	return 0, fmt.Errorf("the background server did not answer within %s; see %s", o.Timeout, o.LogPath)
}
