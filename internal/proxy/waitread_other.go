//go:build !unix

package proxy

import "syscall"

// waitReadable cannot wait without reading here: copyTunnel's read waits
// instead, holding its buffer.
func waitReadable(syscall.RawConn, func()) error { return nil }
