//go:build linux && race

package proxy

import "syscall"

// Under the race detector rawSock reads and writes through the syscall
// package after all. Its calls tell the detector which bytes of a buffer
// the kernel read or wrote, and they order every write to a socket before
// every later read from one, as the kernel does; tests that look at an
// upstream's state after an exchange through the in-process proxy rely on
// that order. The saving of the plain calls does not matter there, and
// the plain calls themselves are tested without the detector.

func sysRead(fd uintptr, b []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), b)
	return n, errnoOf(err)
}

func sysWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), b)
	return n, errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
