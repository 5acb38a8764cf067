//go:build bench

package main

// A minimal websocket (RFC 6455) for the echo scenario: the handshake and
// single-frame messages, no extensions, no fragmentation. The module has no
// websocket dependency, and this is all the benchmark needs.

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

const maxWSPayload = 1 << 20

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// serveWSEcho upgrades and echoes every data frame back, unmasked.
func serveWSEcho(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Key") == "" {
		http.Error(w, "websocket upgrade expected", http.StatusBadRequest)
		return
	}
	accept := wsAccept(r.Header.Get("Sec-WebSocket-Key"))
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	var buf []byte
	for {
		op, payload, err := readFrame(brw.Reader, buf)
		if err != nil {
			return
		}
		buf = payload[:0]
		switch op {
		case opClose:
			_ = writeFrame(brw.Writer, opClose, payload, false)
			_ = brw.Flush()
			return
		case opPing:
			op = opPong
		case opPong:
			continue
		}
		if writeFrame(brw.Writer, op, payload, false) != nil || brw.Flush() != nil {
			return
		}
	}
}

// readFrame reads one unfragmented frame, unmasking it, into buf's storage
// when it is large enough.
func readFrame(r *bufio.Reader, buf []byte) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 {
		return 0, nil, errors.New("websocket: fragmented frames are not supported here")
	}
	op := h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > maxWSPayload {
		return 0, nil, errors.New("websocket: frame too large")
	}
	var mask [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	p := buf[:n]
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range p {
			p[i] ^= mask[i%4]
		}
	}
	return op, p, nil
}

// writeFrame writes one final frame; clients mask (RFC 6455 §5.3).
func writeFrame(w io.Writer, op byte, payload []byte, mask bool) error {
	hdr := make([]byte, 0, 14+len(payload))
	hdr = append(hdr, 0x80|op)
	var mbit byte
	if mask {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, mbit|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, mbit|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, mbit|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if !mask {
		_, err := w.Write(append(hdr, payload...))
		return err
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	hdr = append(hdr, key[:]...)
	off := len(hdr)
	hdr = append(hdr, payload...)
	for i := off; i < len(hdr); i++ {
		hdr[i] ^= key[(i-off)%4]
	}
	_, err := w.Write(hdr)
	return err
}

// wsKey is a fresh Sec-WebSocket-Key.
func wsKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
