package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agent-vault/agent-vault/internal/config"
)

// pidFile is the running server's pid file.
type pidFile struct {
	path    string
	written bool
}

// claimPIDFile refuses to start when a live server already owns the data dir.
func claimPIDFile(path string) (*pidFile, error) {
	if pid, err := ReadPID(path); err == nil && alive(pid) && pid != os.Getpid() {
		return nil, fmt.Errorf("a server is already running with this data dir (pid %d): stop it with `agent-vault server stop`", pid)
	}
	return &pidFile{path: path}, nil
}

func (p *pidFile) write() error {
	if err := config.WriteFileAtomic(p.path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	p.written = true
	return nil
}

func (p *pidFile) release() {
	if !p.written {
		return
	}
	if pid, err := ReadPID(p.path); err == nil && pid == os.Getpid() {
		_ = os.Remove(p.path)
	}
}

// ReadPID reads a pid file.
func ReadPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s is damaged", path)
	}
	return pid, nil
}

// alive reports whether a process with pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ErrNotRunning means no server owns the data dir.
var ErrNotRunning = errors.New("no server is running for this data dir")

// Stop sends SIGTERM to the server owning dataDir and waits for it to exit.
func Stop(dataDir string, wait time.Duration) (int, error) {
	path := config.PIDPath(dataDir)
	pid, err := ReadPID(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotRunning
	}
	if err != nil {
		return 0, err
	}
	if !alive(pid) {
		_ = os.Remove(path)
		return pid, ErrNotRunning
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return pid, fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return pid, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return pid, fmt.Errorf("server (pid %d) did not stop within %s", pid, wait)
}
