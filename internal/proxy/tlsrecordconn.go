package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
)

// recordConn sits between a pooled upstream connection's TCP socket and
// its tls.Client, and hands the TLS layer at most the rest of the current
// TLS record per Read.
//
// crypto/tls reads ahead: it takes from the socket whatever is there, not
// just the record it needs, and keeps the surplus in a buffer of its own
// that nothing outside can see. A partial record an upstream sent after
// its answer (the rest to follow once the next request is on its way)
// would sit there unseen: the response reader would be empty, the socket
// quiet, and a TLS read with an expired deadline would time out because
// the record is incomplete. The connection would look clean, be reused,
// and the upstream's unsolicited bytes would answer the next request.
// Through recordConn the TLS layer never holds a byte past the record it
// is reading, and what arrived after it stays here, where idle can see it
// (h1Conn.clean, h1leg.go).
//
// Its reads from the socket are 4 KiB while answers are small, and
// 64 KiB once a read brings 4 KiB or more (a download), until one brings
// less: a download takes no more read calls than crypto/tls alone would
// make (fewer: crypto/tls reads into the free room of its record buffer,
// a record and a little more). The buffer is borrowed from a pool only
// while it holds bytes not yet handed on: at the end of a response
// everything was handed on, so an idle pooled connection holds no buffer
// (docs/performance.md counts the memory of idle connections). The
// garbage collector empties pools now and then and a buffer is made
// again; small ones keep that cheap for small answers. The cost is one
// copy of each byte, from this buffer into the TLS layer's.
//
// Writes, deadlines, Close and the rest go straight to the socket: the
// TLS layer's SetReadDeadline reaches it.
type recordConn struct {
	net.Conn // the TCP socket

	buf  *[]byte // bytes read from the socket, buf[r:w] not yet handed on; nil when none
	r, w int
	hdr  [recordHeaderLen]byte // the current record's header
	hn   int                   // bytes of hdr handed on; 0 at a record boundary
	body int                   // body bytes of the current record still to hand on, once hn is full
	err  error                 // returned once the buffer is empty: the socket's, or a record too long (then for good)
	big  bool                  // the last read would have filled a small buffer: read with a large one
}

const (
	recordHeaderLen = 5 // type, version (2 bytes), length (2 bytes, big-endian)
	// maxRecordBody is the longest record body any TLS version allows
	// (2^14 bytes of plaintext plus 2048 of expansion); crypto/tls
	// refuses longer ones too.
	maxRecordBody = 16384 + 2048
	// The sizes of one read from the socket: small while reads leave
	// room, large once one did not (recordConn).
	recordReadSmall = 4 << 10
	recordReadLarge = 64 << 10
)

var errRecordTooLong = errors.New("the upstream sent a TLS record longer than TLS allows")

var (
	recordBufsSmall = sync.Pool{New: func() any { b := make([]byte, recordReadSmall); return &b }}
	recordBufsLarge = sync.Pool{New: func() any { b := make([]byte, recordReadLarge); return &b }}
)

func newRecordConn(nc net.Conn) *recordConn { return &recordConn{Conn: nc} }

// Read hands on buffered bytes, never past the end of the current record,
// and reads the socket only when nothing is buffered.
func (c *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.r == c.w {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	b := *c.buf
	n := 0
	if c.hn < recordHeaderLen {
		k := min(recordHeaderLen-c.hn, c.w-c.r, len(p))
		copy(c.hdr[c.hn:], b[c.r:c.r+k])
		copy(p, b[c.r:c.r+k])
		c.r += k
		c.hn += k
		n, p = k, p[k:]
		if c.hn < recordHeaderLen {
			c.releaseIfEmpty()
			return n, nil
		}
		c.body = int(c.hdr[3])<<8 | int(c.hdr[4])
		if c.body > maxRecordBody {
			c.err = errRecordTooLong
			c.release()
			return n, c.err
		}
	}
	k := min(c.body, c.w-c.r, len(p))
	copy(p, b[c.r:c.r+k])
	c.r += k
	c.body -= k
	n += k
	if c.body == 0 {
		c.hn = 0 // the record is whole: the next byte starts another
	}
	c.releaseIfEmpty()
	return n, nil
}

// fill reads the socket into an empty buffer once. It returns an error
// only when it got no byte.
func (c *recordConn) fill() error {
	if c.err != nil {
		err := c.err
		if err != errRecordTooLong {
			c.err = nil // the socket's: it says so again if it still holds
		}
		return err
	}
	for range 100 {
		if c.buf == nil {
			if c.big {
				c.buf = recordBufsLarge.Get().(*[]byte)
			} else {
				c.buf = recordBufsSmall.Get().(*[]byte)
			}
		}
		n, err := c.Conn.Read(*c.buf)
		c.r, c.w = 0, n
		if n > 0 {
			c.big = n >= recordReadSmall
			c.err = err
			return nil
		}
		c.release()
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func (c *recordConn) releaseIfEmpty() {
	if c.r == c.w {
		c.release()
	}
}

func (c *recordConn) release() {
	if c.buf != nil {
		if len(*c.buf) == recordReadLarge {
			recordBufsLarge.Put(c.buf)
		} else {
			recordBufsSmall.Put(c.buf)
		}
		c.buf = nil
	}
	c.r, c.w = 0, 0
}

// idle reports whether the TLS layer has read exactly to the end of a
// record and nothing more arrived through here: no byte held, not inside
// a record, no error. A nil recordConn (plain http) is idle.
func (c *recordConn) idle() bool {
	return c == nil || c.r == c.w && c.hn == 0 && c.err == nil
}
