package proxy

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/agent-vault/agent-vault/internal/redact"
)

// FuzzWSRedactReader: upstream frames are untrusted input. Any bytes must
// not panic the reader; and well-formed server frames (data messages cut
// into fragments of the fuzzer's sizes, pings between them) come out as
// valid frames whose messages are each message redacted in one shot, and
// whose value never survives a cut between frames or reads.
func FuzzWSRedactReader(f *testing.F) {
	f.Add([]byte("hello sk-live-0123456789abcdef world|second sk-live-01"), []byte{3, 9, 1}, false)
	f.Add([]byte("sk-live-0123456789abcdef"), []byte{0}, true)
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o', 0x89, 0x00}, []byte{}, true)
	set := redact.New([][]byte{[]byte("sk-live-0123456789abcdef"), []byte("c2stbGl2ZS0wMTIz")})
	f.Fuzz(func(t *testing.T, data, cuts []byte, raw bool) {
		if len(data) > 1<<16 {
			return
		}
		if raw { // arbitrary bytes: any error is fine, a panic is not
			r := newWSRedactReader(bufio.NewReader(bytes.NewReader(data)), set, func(int) {})
			_, _ = io.ReadAll(r)
			return
		}
		msgs := bytes.Split(data, []byte("|"))
		var wire []byte
		ci := 0
		for i, m := range msgs {
			op := byte(wsOpText)
			if i%2 == 1 {
				op = wsOpBinary
			}
			rest := m
			empty := false // an empty fragment is fine, but not forever
			for first := true; ; first = false {
				n := len(rest)
				if len(cuts) > 0 {
					n = min(n, int(cuts[ci%len(cuts)]))
					ci++
				}
				if n == 0 && empty {
					n = len(rest)
				}
				empty = n == 0
				fin := n == len(rest)
				fop := byte(wsOpContinuation)
				if first {
					fop = op
				}
				wire = appendWSHeader(wire, fin, fop, n)
				wire = append(wire, rest[:n]...)
				rest = rest[n:]
				if !first && ci%3 == 0 {
					wire = appendWSHeader(wire, true, 0x9, 0) // a ping between fragments
				}
				if fin {
					break
				}
			}
		}
		r := newWSRedactReader(bufio.NewReader(iotest.HalfReader(bytes.NewReader(wire))), set, func(int) {})
		out, err := io.ReadAll(r)
		if err != io.ErrUnexpectedEOF && err != nil && err != io.EOF {
			t.Fatalf("read: %v", err)
		}
		// Reassemble the messages the agent gets.
		br := bufio.NewReader(bytes.NewReader(out))
		var got [][]byte
		var cur []byte
		for {
			fr, err := readWSHeader(br)
			if err != nil {
				break
			}
			p := make([]byte, fr.length)
			if _, err := io.ReadFull(br, p); err != nil {
				t.Fatalf("truncated frame in the output")
			}
			if fr.opcode >= 0x8 {
				continue
			}
			cur = append(cur, p...)
			if fr.fin {
				got = append(got, cur)
				cur = nil
			}
		}
		if len(got) != len(msgs) {
			t.Fatalf("%d messages out, %d in", len(got), len(msgs))
		}
		for i, m := range msgs {
			want, _ := set.Bytes(nil, m)
			if !bytes.Equal(got[i], want) {
				t.Fatalf("message %d: %q, want %q", i, got[i], want)
			}
		}
	})
}
