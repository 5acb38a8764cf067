package redact

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// naive is the definition the scanner must meet: from left to right, at
// each position the longest value starting there is replaced; otherwise
// the byte is kept.
func naive(values []string, in string) string {
	var b strings.Builder
	for i := 0; i < len(in); {
		best := 0
		for _, v := range values {
			if len(v) >= MinLen && len(v) > best && strings.HasPrefix(in[i:], v) {
				best = len(v)
			}
		}
		if best > 0 {
			b.WriteString(Placeholder)
			i += best
			continue
		}
		b.WriteByte(in[i])
		i++
	}
	return b.String()
}

func compile(values ...string) *Set {
	bs := make([][]byte, len(values))
	for i, v := range values {
		bs[i] = []byte(v)
	}
	return New(bs)
}

func TestRedactOneShot(t *testing.T) {
	const key = "sk-live-0123456789abcdef"
	tests := []struct {
		name   string
		values []string
		in     string
		want   string
		n      int
	}{
		{"absent", []string{key}, "nothing here", "nothing here", 0},
		{"whole", []string{key}, key, Placeholder, 1},
		{"quoted in an error page", []string{key}, "<p>bad header: Bearer " + key + "</p>", "<p>bad header: Bearer " + Placeholder + "</p>", 1},
		{"twice, adjacent", []string{key}, key + key, Placeholder + Placeholder, 2},
		{"longest wins at the same start", []string{"abcdefgh", "abcdefghij"}, "xabcdefghijx", "x" + Placeholder + "x", 1},
		{"leftmost wins over longer later", []string{"bcdefghijk", "abcdefgh"}, "abcdefghijk", Placeholder + "ijk", 1},
		{"overlapping occurrences", []string{"aaaaaaaa"}, strings.Repeat("a", 17), Placeholder + Placeholder + "a", 2},
		{"too short to redact", []string{"short"}, "a short word", "a short word", 0},
		{"prefix only is kept", []string{key}, key[:10], key[:10], 0},
		{"empty input", []string{key}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := compile(tc.values...)
			got, n := s.Bytes(nil, []byte(tc.in))
			if string(got) != tc.want || n != tc.n {
				t.Fatalf("Bytes = %q, %d; want %q, %d", got, n, tc.want, tc.n)
			}
			if naive(tc.values, tc.in) != tc.want {
				t.Fatalf("the reference disagrees: %q", naive(tc.values, tc.in))
			}
			if str, n := s.String(tc.in); str != tc.want || n != tc.n {
				t.Fatalf("String = %q, %d", str, n)
			}
		})
	}
}

func TestRedactNilSetPassesThrough(t *testing.T) {
	var s *Set
	if New([][]byte{[]byte("short"), nil}) != nil {
		t.Fatal("a set of only short values should be nil")
	}
	if got, _ := s.String("abc"); got != "abc" {
		t.Fatal(got)
	}
	out, _ := io.ReadAll(s.Reader(strings.NewReader("data")))
	if string(out) != "data" {
		t.Fatal(string(out))
	}
}

// A value split across two reads never reaches the output, and what
// cannot start a value is passed on at once (an SSE event is not delayed).
func TestStreamHoldsOnlyAPossibleMatch(t *testing.T) {
	const key = "sk-live-0123456789abcdef"
	s := compile(key)
	st := s.Stream()
	out := st.Write(nil, []byte("data: {\"echo\":\"Bearer sk-live-0123"))
	if string(out) != "data: {\"echo\":\"Bearer " || st.Held() != len("sk-live-0123") {
		t.Fatalf("first write emitted %q, held %d", out, st.Held())
	}
	out = st.Write(nil, []byte("456789abcdef\"}\n\n"))
	if string(out) != Placeholder+"\"}\n\n" || st.Held() != 0 {
		t.Fatalf("second write emitted %q, held %d", out, st.Held())
	}
	out = st.Write(nil, []byte("data: next\n\n"))
	if string(out) != "data: next\n\n" {
		t.Fatalf("an event without a value was held back: %q", out)
	}
}

// A held prefix that never completes is emitted at the end.
func TestStreamFlushEmitsAnIncompletePrefix(t *testing.T) {
	s := compile("sk-live-0123456789abcdef")
	st := s.Stream()
	out := st.Write(nil, []byte("ends with sk-li"))
	out = st.Flush(out)
	if string(out) != "ends with sk-li" {
		t.Fatal(string(out))
	}
}

func TestReaderOneByteAtATime(t *testing.T) {
	const key = "dGVzdDpwYXNzd29yZDEyMw=="
	s := compile(key, "password123")
	in := "Authorization: Basic " + key + "\nraw: password123\n"
	out, err := io.ReadAll(s.Reader(iotest.OneByteReader(strings.NewReader(in))))
	if err != nil {
		t.Fatal(err)
	}
	want := "Authorization: Basic " + Placeholder + "\nraw: " + Placeholder + "\n"
	if string(out) != want {
		t.Fatalf("got %q", out)
	}
	if err := iotest.TestReader(s.Reader(strings.NewReader("clean text, long enough to read in parts")), []byte("clean text, long enough to read in parts")); err != nil {
		t.Fatal(err)
	}
}

// A read error other than EOF drops the held tail: it may be the start of
// a value cut short.
func TestReaderDropsHeldTailOnError(t *testing.T) {
	s := compile("sk-live-0123456789abcdef")
	r := s.Reader(io.MultiReader(strings.NewReader("x sk-live-01"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	out, err := io.ReadAll(r)
	if err != io.ErrUnexpectedEOF || string(out) != "x " {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestStringDoesNotAllocateWithoutMatch(t *testing.T) {
	s := compile("sk-live-0123456789abcdef", "c2stbGl2ZS0wMTIzNDU2Nzg5YWJjZGVm")
	v := "application/json; charset=utf-8; and a header value longer than a stack buffer"
	if n := testing.AllocsPerRun(100, func() { _, _ = s.String(v) }); n != 0 {
		t.Fatalf("String allocated %v times", n)
	}
	buf := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), 1000)
	st := s.Stream()
	if n := testing.AllocsPerRun(100, func() { st.Safe(buf) }); n != 0 {
		t.Fatalf("Safe allocated %v times", n)
	}
}

// index finds what bytes.Index finds, also when the anchor byte is
// everywhere (then it hands over to bytes.Index).
func TestIndexMatchesBytesIndex(t *testing.T) {
	pat := []byte("jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjX")
	cases := [][]byte{
		bytes.Repeat([]byte("j"), 5000),
		append(bytes.Repeat([]byte("j"), 5000), 'X'),
		append(bytes.Repeat([]byte("j"), 40), 'X'),
		[]byte("X"),
		append([]byte("abc"), pat...),
		bytes.Repeat([]byte("aj"), 3000),
	}
	for _, s := range cases {
		for _, k := range []int{0, rarest(pat), len(pat) - 1} {
			if got, want := index(s, pat, k), bytes.Index(s, pat); got != want {
				t.Errorf("index(len %d, k %d) = %d, want %d", len(s), k, got, want)
			}
		}
	}
}

func TestInNameIgnoresCase(t *testing.T) {
	s := compile("sk-live-REDACTME-0123456789")
	for name, want := range map[string]bool{
		"X-Name-Sk-Live-Redactme-0123456789": true,
		"x-name-sk-live-redactme-0123456789": true,
		"X-Name-sk-live-REDACTME-0123456789": true,
		"Content-Type":                       false,
		"X-Name-Sk-Live-Redactme-012345678":  false,
	} {
		if got := s.InName(name); got != want {
			t.Errorf("InName(%q) = %v", name, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { s.InName("Content-Security-Policy-Report-Only") }); n != 0 {
		t.Errorf("InName allocated %v times", n)
	}
}
