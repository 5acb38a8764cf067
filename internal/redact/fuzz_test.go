package redact

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzStreamEqualsOneShot: any chunking of the input, through Stream and
// through Reader, gives exactly the one-shot redaction, and that is the
// reference definition (leftmost-longest). The values are derived from the
// fuzzer's input so that they overlap it and each other.
func FuzzStreamEqualsOneShot(f *testing.F) {
	f.Add([]byte("Bearer sk-live-0123456789 and sk-live-0123456789abc"), []byte{3, 7, 1, 30}, uint8(7), uint8(10), uint8(20), uint8(13))
	f.Add([]byte(strings.Repeat("a", 40)), []byte{1, 1, 1}, uint8(0), uint8(8), uint8(0), uint8(9))
	f.Add([]byte("abcabcabcabcabcabd"), []byte{5}, uint8(3), uint8(9), uint8(0), uint8(15))
	f.Add([]byte("a %2Ffixedvalue1234/x fixedvalue1234/x tok3nVALUE99%253D %2Ftok3nVALUE99 xok3nVALUE99"), []byte{4, 9}, uint8(37), uint8(12), uint8(60), uint8(15))
	f.Fuzz(func(t *testing.T, in, cuts []byte, a, la, b, lb uint8) {
		if len(in) > 4096 {
			return
		}
		var values []string
		for _, v := range [][2]int{{int(a), int(la)}, {int(b), int(lb)}} {
			if v[0] < len(in) {
				values = append(values, string(in[v[0]:min(len(in), v[0]+v[1])]))
			}
		}
		values = append(values, "fixed-value-1234")
		// Values sharing a run of letters and digits are searched for as
		// a group (anchor.go): add forms of the first value around its
		// own text, as escaping makes them, and one of the fixed value.
		if len(values) > 1 {
			values = append(values, "%2F"+values[0], values[0]+"%253D", "x"+values[0][min(1, len(values[0])):])
		}
		values = append(values, "fixedvalue1234/x", "%2Ffixedvalue1234")
		for _, v := range values {
			if v != "" && index(in, []byte(v), rarest([]byte(v))) != bytes.Index(in, []byte(v)) {
				t.Fatalf("index(%q, %q) = %d, bytes.Index says %d", in, v, index(in, []byte(v), rarest([]byte(v))), bytes.Index(in, []byte(v)))
			}
		}
		s := compile(values...)
		want := naive(values, string(in))
		one, _ := s.Bytes(nil, in)
		if string(one) != want {
			t.Fatalf("one-shot %q, reference %q", one, want)
		}
		// Stream in the fuzzer's chunks.
		st := s.Stream()
		var got []byte
		rest := in
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(n, int(cuts[i%len(cuts)])+1)
			}
			got = st.Write(got, rest[:n])
			if st.Held() >= max(1, s.MaxLen()) {
				t.Fatalf("held %d bytes, longest value %d", st.Held(), s.MaxLen())
			}
			rest = rest[n:]
		}
		got = st.Flush(got)
		if string(got) != want {
			t.Fatalf("stream %q, one-shot %q", got, want)
		}
		// Reader over a source that returns the same chunks.
		out, err := io.ReadAll(s.Reader(&chunked{data: in, cuts: cuts}))
		if err != nil || !bytes.Equal(out, []byte(want)) {
			t.Fatalf("reader %q (%v), one-shot %q", out, err, want)
		}
		// A source that returns its last bytes together with io.EOF.
		out, err = io.ReadAll(s.Reader(iotest.DataErrReader(&chunked{data: in, cuts: cuts})))
		if err != nil || !bytes.Equal(out, []byte(want)) {
			t.Fatalf("reader (data with EOF) %q (%v), one-shot %q", out, err, want)
		}
	})
}

// chunked returns data in pieces of the sizes cuts gives, cycling.
type chunked struct {
	data []byte
	cuts []byte
	i    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.cuts) > 0 {
		n = min(n, int(c.cuts[c.i%len(c.cuts)])+1)
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}
