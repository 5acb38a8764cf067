package proxy

import (
	"net"
	"sync"
)

// batchConn sits under the TLS session with the agent of an intercepted
// tunnel and, while held, gathers what the TLS layer writes into one system
// call. crypto/tls writes every record (at most 16 KiB of data) with a
// system call of its own, so a 64 KiB piece of a download costs four
// writes, and on loopback each write also runs the receiving side's TCP
// work and wakes the agent. The HTTP/1.1 lane holds the connection around
// each write of an answer (h1lanewriter.go); outside a hold, writes go
// straight through, so the handshake, alerts and the inner server's
// writes behave as on a plain connection.
//
// Memory is taken from a pool only while held: an idle connection holds
// none.
type batchConn struct {
	net.Conn
	mu   sync.Mutex
	held bool
	buf  *[]byte // gathered bytes while held, from batchBuffers
	err  error   // the first failed write of gathered bytes
}

const (
	batchFlushAt = 64 << 10 // gathered bytes written out at once
	batchCap     = batchFlushAt + 4*(16<<10+64)
)

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, batchCap); return &b }}

// hold starts gathering writes.
func (c *batchConn) hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

// release writes out what was gathered and ends the hold. The error is
// that of a failed write during the hold, which the TLS layer did not see.
func (c *batchConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	c.flushLocked()
	if c.buf != nil {
		*c.buf = (*c.buf)[:0]
		batchBuffers.Put(c.buf)
		c.buf = nil
	}
	err := c.err
	c.err = nil
	return err
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held {
		return c.Conn.Write(p)
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.buf == nil {
		c.buf = batchBuffers.Get().(*[]byte)
	}
	// crypto/tls reuses the slice it hands over, so the bytes are copied.
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= batchFlushAt {
		c.flushLocked()
		if c.err != nil {
			return 0, c.err
		}
	}
	return len(p), nil
}

func (c *batchConn) flushLocked() {
	if c.buf == nil || len(*c.buf) == 0 {
		return
	}
	if c.err == nil {
		_, c.err = c.Conn.Write(*c.buf)
	}
	*c.buf = (*c.buf)[:0]
}
