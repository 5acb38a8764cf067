//go:build unix && !linux

package sandbox

import (
	"errors"
	"runtime"

	"golang.org/x/sys/unix"
)

// fdDir lists this process's descriptors.
const fdDir = "/dev/fd"

// closeRangeOnExec: on macOS /dev/fd lists every descriptor, and the
// caller walks it. Elsewhere it may list only 0–2 (FreeBSD without
// fdescfs mounted), so every number up to the descriptor limit is marked.
func closeRangeOnExec() error {
	if runtime.GOOS == "darwin" {
		return errors.ErrUnsupported
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	last := min(uint64(lim.Cur), 1<<20)
	for fd := uint64(3); fd < last; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return err
		}
	}
	return nil
}
