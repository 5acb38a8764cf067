package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inheritable opens path as a descriptor without close-on-exec, as a
// shell's `exec 4<file` leaves one for the programs it starts.
func inheritable(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd())) // dup(2) leaves FD_CLOEXEC clear
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if cloexec(t, fd) {
		t.Fatalf("fd %d is close-on-exec already: the test proves nothing", fd)
	}
	return fd
}

func cloexec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

// TestCloseInheritedOnExec: both ways (close_range, and the walk of
// /proc/self/fd that older kernels need) mark an inherited descriptor
// close-on-exec and leave stdin, stdout and stderr as they were.
func TestCloseInheritedOnExec(t *testing.T) {
	for _, tc := range []struct {
		name string
		mark func() error
	}{
		{"CloseInheritedOnExec", CloseInheritedOnExec},
		{"walk of " + fdDir, func() error { return markOnExec(fdDir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := inheritable(t, os.DevNull)
			var std [3]bool
			for i := range std {
				std[i] = cloexec(t, i)
			}
			if err := tc.mark(); err != nil {
				t.Fatal(err)
			}
			if !cloexec(t, fd) {
				t.Errorf("fd %d is still inherited by programs this process starts", fd)
			}
			for i, was := range std {
				if cloexec(t, i) != was {
					t.Errorf("fd %d's close-on-exec flag changed", i)
				}
			}
		})
	}
}

// TestProgramGetsOnlyStdio: a descriptor the caller of Start inherited
// without close-on-exec (here on a file of a hidden directory) does not
// reach the program through init; the program holds stdin, stdout and
// stderr only.
func TestProgramGetsOnlyStdio(t *testing.T) {
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "session.json")
	if err := os.WriteFile(secret, []byte("inherited-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd := inheritable(t, secret)
	// The glob reads the shell's descriptor directory with one descriptor
	// of its own (the lowest free, 3): any other above stderr was
	// inherited.
	out, code := start(t, Config{Hide: []string{secretDir}},
		`exec 2>/dev/null; cat <&"$0"; for f in /proc/$$/fd/*; do [ "${f##*/}" -gt 3 ] && echo "fd ${f##*/}"; done; echo end`,
		strconv.Itoa(fd))
	if strings.Contains(out, "inherited-secret") {
		t.Errorf("the program read a file of a hidden directory through descriptor %d it inherited", fd)
	}
	if code != 0 || out != "end\n" {
		t.Errorf("the program holds descriptors above stderr: %q (exit %d), want only \"end\"", strings.ReplaceAll(out, "inherited-secret", "<secret>"), code)
	}
}
