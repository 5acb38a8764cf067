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

// pidFile is the running server's pid file, guarded by an exclusive lock
// on a lock file next to it: the lock, held for the life of the process,
// is what keeps a second server off the data dir (the kernel drops it when
// the process dies, even by kill -9).
type pidFile struct {
	path    string
	lock    *os.File
	written bool
}

// claimPIDFile takes the data dir's lock, or says which server holds it.
func claimPIDFile(path string) (*pidFile, error) {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the data dir lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if pid, perr := ReadPID(path); perr == nil {
			return nil, fmt.Errorf("a server is already running with this data dir (pid %d): stop it with `agent-vault server stop`", pid)
		}
		return nil, errors.New("a server is already running (or starting) with this data dir: stop it with `agent-vault server stop`")
	}
	return &pidFile{path: path, lock: lock}, nil
}

func (p *pidFile) write() error {
	if err := config.WriteFileAtomic(p.path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	p.written = true
	return nil
}

func (p *pidFile) release() {
	if p.written {
		if pid, err := ReadPID(p.path); err == nil && pid == os.Getpid() {
			_ = os.Remove(p.path)
		}
	}
	_ = p.lock.Close() // releases the lock
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
