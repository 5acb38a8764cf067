package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// A blind tunnel spends most of its life idle, and a server may hold ten
// thousand of them. Copying with io.Copy would pin a 32 KiB buffer per
// direction (64 KiB per tunnel) while each side waits for bytes that may
// not come for minutes. copyTunnel instead waits for the source to become
// readable without a buffer, then borrows one from a pool for as long as
// bytes keep coming, and gives it back before waiting again. Measured with
// the idle-connection harness (docs/performance.md, "Memory").

// tunnelBufSize is the size of a borrowed copy buffer.
const tunnelBufSize = 32 << 10

var tunnelBufs = sync.Pool{New: func() any { b := make([]byte, tunnelBufSize); return &b }}

// tunnelBufsOut counts the copy buffers tunnels hold right now.
var tunnelBufsOut atomic.Int64

func borrowTunnelBuf() *[]byte {
	tunnelBufsOut.Add(1)
	return tunnelBufs.Get().(*[]byte)
}

func returnTunnelBuf(b *[]byte) {
	tunnelBufsOut.Add(-1)
	tunnelBufs.Put(b)
}

// copyTunnel copies src to dst until src ends (EOF: nil error) or either
// side fails, and returns the bytes written.
func copyTunnel(dst, src net.Conn) (int64, error) {
	raw := rawConnOf(src)
	var n int64
	var bp *[]byte
	idle := func() {
		if bp != nil {
			returnTunnelBuf(bp)
			bp = nil
		}
	}
	defer idle()
	for {
		if raw != nil {
			// Returns at once when bytes are waiting; gives the buffer
			// back before parking otherwise. A closed or failed socket
			// is reported by the Read below.
			_ = waitReadable(raw, idle)
		}
		if bp == nil {
			bp = borrowTunnelBuf()
		}
		buf := *bp
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
			if nw != nr {
				return n, io.ErrShortWrite
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return n, nil
			}
			return n, rerr
		}
	}
}

// rawConnOf finds the socket under c (through wrappers that expose
// NetConn), or nil when there is none to wait on.
func rawConnOf(c net.Conn) syscall.RawConn {
	for range 4 {
		if sc, ok := c.(syscall.Conn); ok {
			rc, err := sc.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
