package proxy

import (
	"bufio"
	"encoding/binary"
	"io"

	"github.com/agent-vault/agent-vault/internal/redact"
)

// Websocket frames from an upstream, redacted. Data messages (text and
// binary) stream through one redactor per message, so a value split
// across frames is still caught; a frame's payload is read in pieces of at
// most wsPiece bytes, and each piece's output goes out as its own frame
// (an intermediary may refragment a message that uses no extension, and
// the proxy negotiates none). A message of one small frame keeps its one
// frame. Control frames are redacted whole (a close reason may quote a
// header). A masked frame, or one with a reserved bit set, ends the
// connection: a server never masks, and no extension was agreed.

const wsPiece = 32 << 10

// Opcodes used here besides those of wsframe.go.
const (
	wsOpBinary = 0x2
	wsOpClose  = 0x8
)

type wsRedactReader struct {
	src   *bufio.Reader
	set   *redact.Set
	st    *redact.Stream
	count func(int)
	out   []byte // frames ready for the agent: out[off:]
	off   int
	err   error
	left  uint64 // payload bytes of the current data frame not read yet
	fin   bool   // the current data frame ends its message
	op    byte   // opcode of the next data frame sent: the message's, then continuation
	piece []byte
	body  []byte
}

func newWSRedactReader(src *bufio.Reader, set *redact.Set, count func(int)) *wsRedactReader {
	return &wsRedactReader{src: src, set: set, st: set.Stream(), count: count, piece: make([]byte, wsPiece)}
}

func (w *wsRedactReader) Read(p []byte) (int, error) {
	for w.off == len(w.out) {
		if w.err != nil {
			return 0, w.err
		}
		w.out, w.off = w.out[:0], 0
		before := w.st.Count()
		w.err = w.step()
		if n := w.st.Count() - before; n > 0 {
			w.count(n)
		}
	}
	n := copy(p, w.out[w.off:])
	w.off += n
	return n, nil
}

// step reads one frame header, or one piece of a data frame's payload,
// and appends what may go to the agent to out.
func (w *wsRedactReader) step() error {
	if w.left == 0 {
		f, err := readWSHeader(w.src)
		if err != nil {
			return err
		}
		if f.masked || f.rsv != 0 {
			return errWSFrame
		}
		if f.opcode >= wsOpClose {
			return w.control(f)
		}
		switch f.opcode {
		case wsOpText, wsOpBinary:
			w.st.Reset()
			w.op = f.opcode
		case wsOpContinuation:
		default:
			return errWSFrame
		}
		w.left, w.fin = f.length, f.fin
		if w.left == 0 {
			w.emit(nil)
			return nil
		}
	}
	n := int(min(w.left, uint64(len(w.piece))))
	if _, err := io.ReadFull(w.src, w.piece[:n]); err != nil {
		return err
	}
	w.left -= uint64(n)
	w.emit(w.piece[:n])
	return nil
}

// emit sends payload's redacted output as one frame of the message, unless
// all of it is held back and the message goes on.
func (w *wsRedactReader) emit(payload []byte) {
	last := w.left == 0 && w.fin
	w.body = w.st.Write(w.body[:0], payload)
	if last {
		w.body = w.st.Flush(w.body)
	}
	if len(w.body) == 0 && !last {
		return
	}
	w.out = appendWSHeader(w.out, last, w.op, len(w.body))
	w.out = append(w.out, w.body...)
	w.op = wsOpContinuation
}

// control redacts a control frame whole (at most 125 bytes, cut back to
// that if the placeholder made it longer).
func (w *wsRedactReader) control(f wsFrame) error {
	if f.length > 125 || !f.fin {
		return errWSFrame
	}
	payload := w.piece[:f.length]
	if _, err := io.ReadFull(w.src, payload); err != nil {
		return err
	}
	red, n := w.set.Bytes(w.body[:0], payload)
	w.body = red
	if n > 0 {
		w.count(n)
	}
	red = red[:min(len(red), 125)]
	w.out = appendWSHeader(w.out, true, f.opcode, len(red))
	w.out = append(w.out, red...)
	return nil
}

// appendWSHeader appends an unmasked frame header.
func appendWSHeader(b []byte, fin bool, op byte, n int) []byte {
	first := op
	if fin {
		first |= 0x80
	}
	switch {
	case n < 126:
		return append(b, first, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, first, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, first, 127), uint64(n))
	}
}
