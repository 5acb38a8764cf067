//go:build linux && race

package proxy

import (
	"runtime"
	"unsafe"
)

// Under the race detector, rawSock tells it what the kernel read from and
// wrote into a buffer, as the syscall package does for its own calls;
// otherwise a race on a buffer handed to the socket would go unseen.

func raceReadBytes(b []byte) {
	if len(b) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(&b[0]), len(b))
	}
}

func raceWriteBytes(b []byte) {
	if len(b) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&b[0]), len(b))
	}
}
