package proxy

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// frame builds a client frame.
func frame(fin bool, rsv, op byte, masked bool, payload []byte) []byte {
	f := wsFrame{header: []byte{0}, masked: masked, key: [4]byte{1, 2, 3, 4}}
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b0 |= rsv
	f.header[0] = b0
	p := append([]byte(nil), payload...)
	if masked {
		wsMask(p, f.key)
	}
	return append(encodeWSHeader(f, len(p)), p...)
}

// unmaskAll decodes a stream of frames to their payloads.
func payloads(t *testing.T, b []byte) []string {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	var out []string
	for {
		f, err := readWSHeader(r)
		if err != nil {
			return out
		}
		if f.length > uint64(len(b)) {
			return out
		}
		p := make([]byte, f.length)
		if _, err := io.ReadFull(r, p); err != nil {
			return out
		}
		if f.masked {
			wsMask(p, f.key)
		}
		out = append(out, string(p))
	}
}

func TestCopyWSFramesRewritesOnlyEligibleTextFrames(t *testing.T) {
	rep := func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte("__TOKEN__"), []byte("s3cret-value-longer-than-placeholder"))
	}
	big := strings.Repeat("x", 70000) + "__TOKEN__"
	var in bytes.Buffer
	in.Write(frame(true, 0, wsOpText, true, []byte(`{"auth":"__TOKEN__"}`))) // rewritten
	in.Write(frame(true, 0, 0x2, true, []byte("__TOKEN__")))                 // binary: untouched
	in.Write(frame(true, 0x40, wsOpText, true, []byte("__TOKEN__")))         // compressed: untouched
	in.Write(frame(false, 0, wsOpText, true, []byte("__TOK")))               // fragment start: untouched
	in.Write(frame(true, 0, wsOpContinuation, true, []byte("EN__")))         // continuation: untouched
	in.Write(frame(true, 0, 0x9, true, []byte("ping __TOKEN__")))            // control frame: untouched
	in.Write(frame(true, 0, wsOpText, true, []byte(big)))                    // 16-bit → 64-bit length
	in.Write(frame(true, 0, wsOpText, false, []byte("unmasked __TOKEN__")))  // unmasked still parsed
	var out bytes.Buffer
	_ = copyWSFrames(&out, bufio.NewReader(&in), rep)
	got := payloads(t, out.Bytes())
	want := []string{
		`{"auth":"s3cret-value-longer-than-placeholder"}`, "__TOKEN__", "__TOKEN__", "__TOK", "EN__", "ping __TOKEN__",
		strings.Repeat("x", 70000) + "s3cret-value-longer-than-placeholder", "unmasked s3cret-value-longer-than-placeholder",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: got %.60q, want %.60q", i, got[i], want[i])
		}
	}
}

func TestCopyWSFramesPassesOversizedTextThrough(t *testing.T) {
	huge := bytes.Repeat([]byte("a"), maxWSSubstitution+1)
	copy(huge, "__TOKEN__")
	in := frame(true, 0, wsOpText, true, huge)
	var out bytes.Buffer
	_ = copyWSFrames(&out, bufio.NewReader(bytes.NewReader(in)), func(b []byte) []byte { t.Fatal("rewrote an oversized frame"); return b })
	if !bytes.Equal(out.Bytes(), in) {
		t.Fatal("oversized frame changed")
	}
}

// FuzzWSFrames: arbitrary client bytes never panic, and with an identity
// replacement the complete frames of the input come out with the same
// payloads (a rewritten frame may re-encode its length minimally).
func FuzzWSFrames(f *testing.F) {
	f.Add(frame(true, 0, wsOpText, true, []byte("hello __TOKEN__")))
	f.Add(frame(false, 0, wsOpText, false, []byte("x")))
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0x81, 0x7e, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		var out bytes.Buffer
		_ = copyWSFrames(&out, bufio.NewReader(bytes.NewReader(in)), func(b []byte) []byte { return b })
		want, got := payloads(t, in), payloads(t, out.Bytes())
		if len(got) > len(want) {
			t.Fatalf("more frames out (%d) than complete frames in (%d)", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("frame %d payload changed", i)
			}
		}
	})
}
