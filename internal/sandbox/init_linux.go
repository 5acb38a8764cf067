package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ctrlFD is where init finds its end of the control socket.
const ctrlFD = 3

// InitMain runs the sandbox's init process: args are the ones after
// InitArg. It returns the exit status for the binary's main.
func InitMain(args []string) int {
	unix.CloseOnExec(ctrlFD)
	// Init keeps capabilities inside (on every thread but the one that
	// starts the program): the program, same uid, must not trace it, read
	// its memory or take its descriptors. Not dumpable, only a holder of
	// CAP_SYS_PTRACE in the sandbox's user namespace could, and the
	// program holds nothing.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "error: the sandbox's init cannot protect itself:", err)
		return exitNoInit
	}
	ctrl := &initCtrl{fd: ctrlFD}
	// The program gets stdin, stdout and stderr, and no descriptor init
	// inherited besides: run's own caller may have left some open without
	// close-on-exec (a file of the hidden data dir, a socket on the host's
	// network), and they would pass through every mount and namespace.
	if err := CloseInheritedOnExec(); err != nil {
		ctrl.send(append([]byte{msgSetup}, fmt.Sprintf("closing inherited descriptors: %v", err)...))
		return exitNoInit
	}
	var sp spec
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &sp) != nil || sp.Path == "" {
		fmt.Fprintln(os.Stderr, "error: this is an internal entry point of `agent-vault run`")
		return exitNoInit
	}
	// Init is PID 1: it must catch signals, or the kernel drops them.
	// What the terminal sends the whole process group (SIGINT, SIGQUIT,
	// SIGHUP, SIGWINCH, …) is dropped here, since the program gets the
	// terminal's own copy; SIGTERM, SIGUSR1 and SIGUSR2, which only kill(2)
	// sends (the program signalling its parent, say), are passed on.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	prog := &pending{}
	go func() {
		for s := range sigs {
			switch s {
			case syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2:
				prog.signal(s.(syscall.Signal))
			}
		}
	}()
	if err := setUp(sp); err != nil {
		ctrl.send(append([]byte{msgSetup}, err.Error()...))
		return exitNoInit
	}
	lns, err := listen(sp.Listen)
	if err != nil {
		ctrl.send(append([]byte{msgSetup}, err.Error()...))
		return exitNoInit
	}
	for i, ln := range lns {
		go acceptLoop(ln, byte(i), ctrl)
	}
	pid, err := startProgram(sp)
	if err != nil {
		ctrl.send(append([]byte{msgStart}, fmt.Sprintf("starting %s: %v", sp.Path, err)...))
		return exitNoInit
	}
	prog.started(pid)
	ctrl.send([]byte{msgReady})
	go ctrl.forwardSignals(pid)
	return reap(pid)
}

// setUp makes the mounts private, hides paths, mounts a /proc of the new
// PID namespace and brings loopback up.
func setUp(sp spec) error {
	wd, _ := os.Getwd()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %v", err)
	}
	for _, p := range sp.Hide {
		if err := hide(p); err != nil {
			return err
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %v", err)
	}
	// A working directory inside a hidden one would still reach what is
	// under the mount: enter it again through the new mounts.
	if wd != "" {
		_ = os.Chdir(wd)
	}
	return loopbackUp()
}

// hide covers a directory with an empty tmpfs, anything else with
// /dev/null. A symbolic link is followed (by Stat and by mount): what it
// names is hidden.
func hide(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return nil // nothing to hide
	}
	if st.IsDir() {
		if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=1m"); err != nil {
			return fmt.Errorf("hiding %s: %v", p, err)
		}
		return nil
	}
	if err := unix.Mount("/dev/null", p, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("hiding %s: %v", p, err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %v", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %v", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: %v", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing loopback up: %v", err)
	}
	return nil
}

func listen(addrs []string) ([]net.Listener, error) {
	var out []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("relay on %s: %v", a, err)
		}
		out = append(out, ln)
	}
	return out, nil
}

// acceptLoop hands every connection to the parent, which connects it to
// the relay's address outside.
func acceptLoop(ln net.Listener, idx byte, ctrl *initCtrl) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f, err := c.(*net.TCPConn).File()
		c.Close()
		if err != nil {
			continue
		}
		ctrl.sendFD([]byte{msgConn, idx}, int(f.Fd()))
		f.Close()
	}
}

// startProgram starts the program with no capabilities and no way to gain
// any (no_new_privs, an empty bounding set), even when the caller is root.
func startProgram(sp spec) (int, error) {
	// The session keyring and the capability calls below are per thread:
	// make them on the thread that then starts the program.
	runtime.LockOSThread()
	// A fresh anonymous session keyring: the caller's may hold secrets
	// (Kerberos tickets, say). Where keyctl is missing or forbidden, the
	// program cannot use it either.
	if _, _, e := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0); e != 0 && e != unix.ENOSYS && e != unix.EPERM {
		return 0, fmt.Errorf("a session keyring of its own: %v", e)
	}
	if err := dropPrivileges(); err != nil {
		return 0, err
	}
	p, err := os.StartProcess(sp.Path, sp.Args, &os.ProcAttr{
		Dir:   sp.Dir,
		Env:   os.Environ(),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		return 0, err
	}
	return p.Pid, nil
}

// reap waits for every process that ends in the sandbox (init is PID 1)
// until the program itself ends, and returns its status. Init's exit then
// ends whatever the program left running.
func reap(pid int) int {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 1
		}
		if got != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// initCtrl is init's end of the control socket.
type initCtrl struct{ fd int }

func (c *initCtrl) send(b []byte) {
	_ = unix.Sendmsg(c.fd, b, nil, nil, 0)
}

func (c *initCtrl) sendFD(b []byte, fd int) {
	_ = unix.Sendmsg(c.fd, b, unix.UnixRights(fd), nil, 0)
}

// forwardSignals delivers the parent's forwarded signals to the program;
// when the parent goes away, the program is killed.
func (c *initCtrl) forwardSignals(pid int) {
	buf := make([]byte, 16)
	for {
		n, _, _, _, err := unix.Recvmsg(c.fd, buf, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
			return
		}
		if n >= 2 && buf[0] == msgSignal {
			_ = unix.Kill(pid, syscall.Signal(buf[1]))
		}
	}
}

// pending delivers signals to the program, holding those that arrive
// before its pid is known (it may signal init as soon as it runs).
type pending struct {
	mu   sync.Mutex
	pid  int
	held []syscall.Signal
}

func (p *pending) signal(s syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pid == 0 {
		p.held = append(p.held, s)
		return
	}
	_ = unix.Kill(p.pid, s)
}

func (p *pending) started(pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pid = pid
	for _, s := range p.held {
		_ = unix.Kill(pid, s)
	}
	p.held = nil
}
