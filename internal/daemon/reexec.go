package daemon

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/agent-vault/agent-vault/internal/secret"
)

// ReexecWithPasswordFD replaces this process with a fresh copy of itself
// whose environment lacks envName, handing pw over through an inherited
// pipe (--password-fd). os.Unsetenv alone would leave the password in
// /proc/<pid>/environ, which the kernel keeps from exec time. It returns
// only on failure.
func ReexecWithPasswordFD(pw secret.Bytes, envName string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	var fds [2]int
	// A pipe without close-on-exec (syscall.Pipe sets no flag, on Linux
	// and on macOS alike): the read end must survive the exec.
	if err := syscall.Pipe(fds[:]); err != nil {
		return fmt.Errorf("creating the password pipe: %w", err)
	}
	syscall.CloseOnExec(fds[1])
	if _, err := syscall.Write(fds[1], append(append([]byte(nil), pw.Reveal()...), '\n')); err != nil {
		return fmt.Errorf("writing the password pipe: %w", err)
	}
	_ = syscall.Close(fds[1])
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envName+"=") {
			env = append(env, kv)
		}
	}
	args := append(append([]string(nil), os.Args...), "--password-fd="+strconv.Itoa(fds[0]))
	return syscall.Exec(exe, args, env)
}
