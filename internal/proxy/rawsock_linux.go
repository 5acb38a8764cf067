package proxy

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// rawSock reads and writes a proxy socket with plain system calls instead
// of going through the Go runtime's system call bookkeeping.
//
// Every read and write of a net.Conn enters the runtime's "blocking system
// call" path. When the whole process was idle a moment before — which is
// the case for every request of an agent that sends one at a time — that
// path first wakes the runtime's monitor thread (sysmon), which then polls
// every 20 µs for as long as the process stays busy. On the two shared
// cores this project measures on, those wake-ups cost the proxy about a
// fifth of its CPU per request at c=1 and sit on the request's critical
// path (docs/performance.md, "Wake-ups").
//
// The sockets are non-blocking (the runtime's poller owns them), so a read
// or write never waits in the kernel: it returns EAGAIN instead, and then
// rawSock parks on the poller through syscall.RawConn exactly as net.Conn
// does, with the same deadlines. Everything else (Close, deadlines,
// addresses, CloseWrite, SyscallConn) is the embedded *net.TCPConn's.
type rawSock struct {
	*net.TCPConn
	rc syscall.RawConn

	// The callbacks handed to rc are made once, with the state of the
	// call in progress kept here rather than captured: a closure per call
	// would cost allocations on every read and write. rmu and wmu give
	// each direction's state to one call at a time.
	rmu    sync.Mutex
	rbuf   []byte
	rn     int
	rerrno syscall.Errno
	readFn func(fd uintptr) bool

	wmu     sync.Mutex
	wbuf    []byte
	wdone   int
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool
}

// rawSocket wraps c when it is a TCP connection; anything else is returned
// as it is.
func rawSocket(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	s := &rawSock{TCPConn: tc, rc: rc}
	s.readFn, s.writeFn = s.readOnce, s.writeSome
	return s
}

// maxRawIO bounds one system call, as the runtime's own I/O does.
const maxRawIO = 1 << 30

func (s *rawSock) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > maxRawIO {
		b = b[:maxRawIO]
	}
	s.rmu.Lock()
	s.rbuf, s.rn, s.rerrno = b, 0, 0
	err := s.rc.Read(s.readFn)
	n, errno := s.rn, s.rerrno
	s.rbuf = nil
	s.rmu.Unlock()
	if err := s.failure("read", err, errno); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// readOnce is the read callback: one read(2), or false to wait on the
// poller when nothing has arrived.
func (s *rawSock) readOnce(fd uintptr) bool {
	for {
		r, e := sysRead(fd, s.rbuf)
		switch e {
		case 0:
			s.rn = r
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // park on the poller until readable
		default:
			s.rerrno = e
			return true
		}
	}
}

func (s *rawSock) Write(b []byte) (int, error) {
	s.wmu.Lock()
	s.wbuf, s.wdone, s.werrno = b, 0, 0
	err := s.rc.Write(s.writeFn)
	done, errno := s.wdone, s.werrno
	s.wbuf = nil
	s.wmu.Unlock()
	return done, s.failure("write", err, errno)
}

// writeSome is the write callback: write(2) until everything is written,
// or false to wait on the poller for room, to go on from where it stopped.
func (s *rawSock) writeSome(fd uintptr) bool {
	for s.wdone < len(s.wbuf) {
		chunk := s.wbuf[s.wdone:]
		if len(chunk) > maxRawIO {
			chunk = chunk[:maxRawIO]
		}
		r, e := sysWrite(fd, chunk)
		switch e {
		case 0:
			s.wdone += r
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // park on the poller until writable
		default:
			s.werrno = e
			return true
		}
	}
	return true
}

// failure is the error of a read or write: the poller's (a deadline, a
// closed connection), else the system call's, else nil.
func (s *rawSock) failure(op string, err error, errno syscall.Errno) error {
	switch {
	case err != nil:
		return s.opError(op, err)
	case errno != 0:
		return s.opError(op, os.NewSyscallError(op, errno))
	}
	return nil
}

// opError shapes an error as net.Conn's own: a *net.OpError naming the
// operation and the addresses, wrapping the cause (os.ErrDeadlineExceeded,
// net.ErrClosed or the system call's error).
func (s *rawSock) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		oe.Op = op // syscall.RawConn names its operations "raw-read" and "raw-write"; the error is new and ours
		return oe
	}
	return &net.OpError{Op: op, Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: err}
}

// peekNoWait looks at the next byte of the socket fd without taking it
// and without waiting: n is 1 when a byte is there, 0 at end of stream;
// errno is EAGAIN when nothing has arrived, or the socket's error. It is a
// plain system call for the reason rawSock's are.
func peekNoWait(fd uintptr) (n int, errno syscall.Errno) {
	var one [1]byte
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&one[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), 0
	}
}

// rawSockets makes dial's TCP connections rawSocks.
func rawSockets(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return rawSocket(c), nil
	}
}
