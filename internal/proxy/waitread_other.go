//go:build !unix

package proxy

import "syscall"

// waitReadable cannot wait without reading here: copyTunnel's read waits
// instead, holding its buffer.
func waitReadable(syscall.RawConn) error { return nil }
