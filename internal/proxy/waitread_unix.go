//go:build unix

package proxy

import (
	"syscall"
)

// waitReadable blocks until rc has bytes to read, has reached EOF or has
// failed, without reading anything: it peeks one byte without waiting and
// parks on the runtime's poller only while the answer is "would block",
// calling idle first.
func waitReadable(rc syscall.RawConn, idle func()) error {
	var errno syscall.Errno
	err := rc.Read(func(fd uintptr) bool {
		_, errno = peekNoWait(fd)
		if errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK {
			idle()
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
