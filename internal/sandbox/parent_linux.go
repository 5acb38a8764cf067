package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a program running in a sandbox.
type Process struct {
	cmd    *exec.Cmd
	ctrl   *os.File
	relays []Relay
	wmu    sync.Mutex
	conns  sync.WaitGroup
}

// Start starts cfg's program in a sandbox. An error wrapping
// ErrUnavailable means the sandbox could not be created and nothing was
// started; any other error means the program itself could not start.
func Start(cfg Config) (*Process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%w: cannot find this program to re-execute (%v)", ErrUnavailable, err)
	}
	sp := spec{Path: cfg.Path, Args: cfg.Args, Dir: cfg.Dir, Hide: cfg.Hide}
	for _, r := range cfg.Relays {
		sp.Listen = append(sp.Listen, r.Listen)
	}
	arg, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: socketpair: %v", ErrUnavailable, err)
	}
	ctrl, inner := os.NewFile(uintptr(fds[0]), "sandbox-ctrl"), os.NewFile(uintptr(fds[1]), "sandbox-ctrl-init")
	uid, gid := os.Getuid(), os.Getgid()
	cmd := &exec.Cmd{
		Path:       self,
		Args:       []string{"agent-vault-sandbox", InitArg, string(arg)},
		Env:        cfg.Env,
		ExtraFiles: []*os.File{inner},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET |
				syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC,
			// The caller's ids, mapped to themselves: the program is not
			// root inside unless the caller is root outside.
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
			GidMappingsEnableSetgroups: false,
			// Init needs these inside (mounts, loopback, dropping the rest), also when
			// the caller is not root and execve would clear them; it drops
			// them, and every other, before it starts the program.
			AmbientCaps: []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP},
			// If run dies, init dies, and with it every process inside.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	// Unset streams stay unset (not a nil *os.File in an interface).
	if cfg.Stdin != nil {
		cmd.Stdin = cfg.Stdin
	}
	if cfg.Stdout != nil {
		cmd.Stdout = cfg.Stdout
	}
	if cfg.Stderr != nil {
		cmd.Stderr = cfg.Stderr
	}
	err = cmd.Start()
	inner.Close()
	if err != nil {
		ctrl.Close()
		return nil, fmt.Errorf("%w: creating the namespaces failed (%v): unprivileged user namespaces are off here "+
			"(sysctl user.max_user_namespaces or kernel.unprivileged_userns_clone, or a container's seccomp profile)", ErrUnavailable, err)
	}
	p := &Process{cmd: cmd, ctrl: ctrl, relays: cfg.Relays}
	started := make(chan error, 1)
	go p.serve(started)
	if err := <-started; err != nil {
		_ = cmd.Wait()
		ctrl.Close()
		return nil, err
	}
	return p, nil
}

// serve reads init's messages: the start report first (on started), then
// connections to relay.
func (p *Process) serve(started chan<- error) {
	reported := false
	report := func(err error) {
		if !reported {
			reported = true
			started <- err
		}
	}
	defer report(fmt.Errorf("%w: the sandbox's init process ended before starting the program", ErrUnavailable))
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	fd := int(p.ctrl.Fd())
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		msg := buf[:n]
		switch msg[0] {
		case msgReady:
			report(nil)
		case msgSetup:
			report(fmt.Errorf("%w: %s", ErrUnavailable, msg[1:]))
		case msgStart:
			report(errors.New(string(msg[1:])))
		case msgConn:
			conn := receivedConn(oob[:oobn])
			if conn == nil {
				continue
			}
			if len(msg) < 2 || int(msg[1]) >= len(p.relays) {
				conn.Close()
				continue
			}
			p.conns.Add(1)
			go func(r Relay) {
				defer p.conns.Done()
				relay(conn, r.Dial)
			}(p.relays[msg[1]])
		}
	}
}

// receivedConn turns the descriptor passed with a message into a conn.
func receivedConn(oob []byte) net.Conn {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var conn net.Conn
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			f := os.NewFile(uintptr(fd), "relayed")
			if conn == nil {
				conn, _ = net.FileConn(f)
			}
			f.Close()
		}
	}
	return conn
}

// relay joins a connection made inside to a new one to addr outside.
func relay(in net.Conn, addr string) {
	defer in.Close()
	out, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if c, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// Signal delivers sig to the program (through init, which runs as PID 1
// of the sandbox and forwards only what arrives this way).
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok || s <= 0 || s > 255 {
		return fmt.Errorf("cannot forward signal %v", sig)
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err := p.ctrl.Write([]byte{msgSignal, byte(s)})
	return err
}

// Wait waits for the program and returns its exit code, 128+N when signal
// N ended it.
func (p *Process) Wait() int {
	err := p.cmd.Wait()
	p.ctrl.Close()
	st := p.cmd.ProcessState
	if st == nil {
		return 1
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := st.ExitCode(); code >= 0 {
		return code
	}
	if err != nil {
		return 1
	}
	return 0
}
