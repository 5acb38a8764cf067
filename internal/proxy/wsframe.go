package proxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// Websocket frame rewriting for substitutions on the websocket surface
// (docs/protocol.md, "Substitutions"): client→server frames that are complete (FIN), unfragmented,
// uncompressed (RSV1 clear) text frames of at most maxWSSubstitution bytes
// have their placeholders replaced; every other frame passes through
// byte for byte.

const maxWSSubstitution = 1 << 20

// Frame opcodes.
const (
	wsOpContinuation = 0x0
	wsOpText         = 0x1
)

var errWSFrame = errors.New("websocket: malformed frame")

// wsFrame is one frame read from a client.
type wsFrame struct {
	header []byte // the raw header as read (for pass-through)
	fin    bool
	rsv    byte
	opcode byte
	masked bool
	key    [4]byte
	length uint64
}

// readWSHeader reads a frame header.
func readWSHeader(r *bufio.Reader) (wsFrame, error) {
	var f wsFrame
	var h [14]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return f, err
	}
	n := 2
	f.fin = h[0]&0x80 != 0
	f.rsv = h[0] & 0x70
	f.opcode = h[0] & 0x0f
	f.masked = h[1]&0x80 != 0
	l := uint64(h[1] & 0x7f)
	switch l {
	case 126:
		if _, err := io.ReadFull(r, h[n:n+2]); err != nil {
			return f, err
		}
		l = uint64(binary.BigEndian.Uint16(h[n : n+2]))
		n += 2
	case 127:
		if _, err := io.ReadFull(r, h[n:n+8]); err != nil {
			return f, err
		}
		l = binary.BigEndian.Uint64(h[n : n+8])
		if l>>63 != 0 {
			return f, errWSFrame
		}
		n += 8
	}
	if f.masked {
		if _, err := io.ReadFull(r, h[n:n+4]); err != nil {
			return f, err
		}
		copy(f.key[:], h[n:n+4])
		n += 4
	}
	f.length = l
	f.header = append([]byte(nil), h[:n]...)
	return f, nil
}

// rewritable reports whether f is a frame substitutions apply to.
func (f wsFrame) rewritable() bool {
	return f.fin && f.rsv == 0 && f.opcode == wsOpText && f.length <= maxWSSubstitution
}

// mask XORs p with key, starting at offset 0.
func wsMask(p []byte, key [4]byte) {
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// encodeWSHeader builds a header for a frame with a new payload length.
func encodeWSHeader(f wsFrame, length int) []byte {
	var b bytes.Buffer
	first := f.header[0]
	b.WriteByte(first)
	mask := byte(0)
	if f.masked {
		mask = 0x80
	}
	switch {
	case length < 126:
		b.WriteByte(mask | byte(length))
	case length <= 0xffff:
		b.WriteByte(mask | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(length))
	default:
		b.WriteByte(mask | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(length))
	}
	if f.masked {
		b.Write(f.key[:])
	}
	return b.Bytes()
}

// copyWSFrames copies client frames to dst, rewriting text frames with
// replace. It returns when src ends or a frame is malformed.
func copyWSFrames(dst io.Writer, src *bufio.Reader, replace func([]byte) []byte) error {
	inFragmented := false
	for {
		f, err := readWSHeader(src)
		if err != nil {
			return err
		}
		// A continuation of a fragmented message is never rewritten, nor
		// is its first frame (fin clear), so a placeholder split across
		// fragments stays untouched rather than half-replaced.
		if f.opcode != wsOpContinuation && f.opcode < 0x8 {
			inFragmented = !f.fin
		}
		if !f.rewritable() || inFragmented {
			if _, err := dst.Write(f.header); err != nil {
				return err
			}
			if _, err := io.CopyN(dst, src, int64(f.length)); err != nil {
				return err
			}
			continue
		}
		p := make([]byte, f.length)
		if _, err := io.ReadFull(src, p); err != nil {
			return err
		}
		if f.masked {
			wsMask(p, f.key)
		}
		p = replace(p)
		if f.masked {
			wsMask(p, f.key)
		}
		if _, err := dst.Write(append(encodeWSHeader(f, len(p)), p...)); err != nil {
			return err
		}
	}
}
