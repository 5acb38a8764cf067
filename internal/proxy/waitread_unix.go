//go:build unix

package proxy

import (
	"errors"
	"syscall"
)

// waitReadable blocks until rc has bytes to read, has reached EOF or has
// failed, without reading anything: it peeks one byte without waiting and
// parks on the runtime's poller only while the answer is "would block",
// calling idle first.
func waitReadable(rc syscall.RawConn, idle func()) error {
	var one [1]byte
	var perr error
	err := rc.Read(func(fd uintptr) bool {
		_, _, perr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK) {
			idle()
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	return perr
}
