//go:build !linux

package proxy

import (
	"context"
	"net"
	"syscall"
)

// rawSocket is the identity outside Linux: the raw system calls of
// rawsock_linux.go are written for Linux only.
func rawSocket(c net.Conn) net.Conn { return c }

// peekNoWait looks at the next byte of the socket fd without taking it
// and without waiting: n is 1 when a byte is there, 0 at end of stream;
// errno is EAGAIN when nothing has arrived, or the socket's error.
func peekNoWait(fd uintptr) (n int, errno syscall.Errno) {
	var one [1]byte
	n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return -1, e
		}
		return -1, syscall.EIO
	}
	return n, 0
}

// rawSockets is the identity outside Linux.
func rawSockets(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return dial
}
