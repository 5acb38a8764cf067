//go:build unix

package sandbox

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseInheritedOnExec marks every descriptor above stderr close-on-exec,
// so that a program this process starts gets only its stdin, stdout and
// stderr, and what it is handed by name (exec.Cmd's ExtraFiles are
// duplicated into place for the child, which clears the flag on the
// copy). Go opens its own descriptors close-on-exec, but a process
// inherits others without the flag from whatever started it: a shell's
// `exec 4<file`, an IDE or agent harness, socket activation. Passed on,
// they would reach the program inside the sandbox, outside its mounts and
// network (docs/agents.md, "The sandbox").
func CloseInheritedOnExec() error {
	if closeRangeOnExec() == nil {
		return nil
	}
	return markOnExec(fdDir)
}

// markOnExec marks every descriptor above stderr listed in dir (a
// process's descriptor directory) close-on-exec, one by one.
func markOnExec(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 {
			continue
		}
		// The directory's own descriptor is listed too (and already
		// close-on-exec); one closed since the listing is no matter.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return err
		}
	}
	return nil
}
