package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
)

// chunkConn is a socket that delivers its stream in the given pieces
// (one per Read, the last piece repeated as needed), then the error end
// (io.EOF when nil); with errWithLast the error comes with the last piece.
type chunkConn struct {
	net.Conn    // only Read is used
	data        []byte
	sizes       []int
	end         error
	errWithLast bool
	given       int // bytes handed out so far
	reads       int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.reads++
	end := c.end
	if end == nil {
		end = io.EOF
	}
	if c.given == len(c.data) {
		return 0, end
	}
	size := 1 << 30
	if len(c.sizes) > 0 {
		size = c.sizes[0]
		if len(c.sizes) > 1 {
			c.sizes = c.sizes[1:]
		}
	}
	n := copy(p, c.data[c.given:min(len(c.data), c.given+max(size, 1))])
	c.given += n
	if c.errWithLast && c.given == len(c.data) {
		return n, end
	}
	return n, nil
}

// tlsRecord is a record of type 23 with a body of n bytes of b.
func tlsRecord(n int, b byte) []byte {
	return append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, bytes.Repeat([]byte{b}, n)...)
}

// recordBounds is where each record of stream ends (by a plain parse),
// and where a header announcing too long a record ends (-1: none).
func recordBounds(stream []byte) (ends []int, tooLong int) {
	for i := 0; i+recordHeaderLen <= len(stream); {
		n := int(stream[i+3])<<8 | int(stream[i+4])
		if n > maxRecordBody {
			return ends, i + recordHeaderLen
		}
		i += recordHeaderLen + n
		if i > len(stream) {
			break
		}
		ends = append(ends, i)
	}
	return ends, -1
}

// drain reads rc with reads of the given sizes (cycled) until an error,
// checking each read: it continues the stream, never crosses a record
// boundary, and idle() says exactly whether the reader is at a boundary
// with nothing held and no error (an end of stream included) pending. It returns what was read and the error.
func drain(t *testing.T, rc *recordConn, src *chunkConn, readSizes []int) ([]byte, error) {
	t.Helper()
	ends, tooLong := recordBounds(src.data)
	isEnd := map[int]bool{0: true}
	for _, e := range ends {
		isEnd[e] = true
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for i := 0; ; i++ {
		p := buf
		if len(readSizes) > 0 {
			p = buf[:max(readSizes[i%len(readSizes)], 1)]
		}
		n, err := rc.Read(p)
		start := len(got)
		got = append(got, p[:n]...)
		if !bytes.Equal(got, src.data[:len(got)]) {
			t.Fatalf("read %d: the bytes differ from the stream's", i)
		}
		for b := start + 1; b < len(got); b++ {
			if isEnd[b] {
				t.Fatalf("read %d handed on bytes %d–%d, across the record boundary at %d", i, start, len(got), b)
			}
		}
		held := src.given - len(got)
		endPending := src.errWithLast && src.given == len(src.data) // the socket's error came with its last bytes
		wantIdle := isEnd[len(got)] && held == 0 && !endPending && err == nil && !(tooLong >= 0 && len(got) >= tooLong)
		if err == nil && rc.idle() != wantIdle {
			t.Fatalf("read %d: at %d with %d bytes held, idle() = %v", i, len(got), held, rc.idle())
		}
		if err != nil {
			if held != 0 && !errors.Is(err, errRecordTooLong) {
				t.Fatalf("read %d: error %v with %d bytes still held", i, err, held)
			}
			return got, err
		}
		if n == 0 {
			t.Fatalf("read %d: no byte and no error", i)
		}
	}
}

func TestRecordConnHandsOnOneRecordAtATime(t *testing.T) {
	r1, r2, r3 := tlsRecord(300, 'a'), tlsRecord(40, 'b'), tlsRecord(7, 'c')
	empty := tlsRecord(0, 0)
	full := tlsRecord(maxRecordBody, 'f')
	tooLong := tlsRecord(maxRecordBody+1, 't')[:recordHeaderLen]
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	type tc struct {
		name      string
		stream    []byte
		sizes     []int // socket pieces
		reads     []int // the TLS layer's read sizes (cycled); nil: large
		wantErr   error
		wantIdle  bool // after the error
		wantReads int  // socket reads, when > 0
	}
	cases := []tc{
		{name: "several records in one socket read", stream: cat(r1, r2, r3), wantErr: io.EOF, wantIdle: true, wantReads: 2},
		{name: "zero-length records", stream: cat(empty, r2, empty, empty), wantErr: io.EOF, wantIdle: true},
		{name: "a record of the longest length allowed", stream: cat(full, r2), wantErr: io.EOF, wantIdle: true},
		{name: "a header announcing a record too long", stream: cat(r2, tooLong, r3), wantErr: errRecordTooLong},
		{name: "a header announcing a record too long, split", stream: cat(r2, tooLong, r3), sizes: []int{len(r2) + 2, 1}, wantErr: errRecordTooLong},
		{name: "end of stream mid-record", stream: cat(r1, r2[:7]), wantErr: io.EOF},
		{name: "end of stream mid-header", stream: cat(r1, r2[:3]), wantErr: io.EOF},
		{name: "end of stream with the last piece, mid-record", stream: cat(r1, r2[:20]), sizes: []int{len(r1) + 20}, wantErr: io.EOF},
		{name: "a socket error mid-record", stream: cat(r1[:100]), wantErr: net.ErrClosed},
		{name: "reads of one byte", stream: cat(r2, empty, r3), reads: []int{1}, wantErr: io.EOF, wantIdle: true},
		{name: "reads of three bytes", stream: cat(r2, empty, r3), reads: []int{3, 2}, wantErr: io.EOF, wantIdle: true},
	}
	// Two records cut at every position, one byte at a time, and in
	// three pieces; the header cuts included.
	two := cat(r2, r3)
	for i := 1; i < len(two); i++ {
		cases = append(cases, tc{name: "cut at " + strconv.Itoa(i), stream: two, sizes: []int{i, len(two)}, wantErr: io.EOF, wantIdle: true})
		cases = append(cases, tc{name: "cut at " + strconv.Itoa(i) + " and after", stream: two, sizes: []int{i, 1, 2}, wantErr: io.EOF, wantIdle: true})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &chunkConn{data: c.stream, sizes: c.sizes, errWithLast: c.name == "end of stream with the last piece, mid-record"}
			if c.wantErr == net.ErrClosed {
				src.end = net.ErrClosed
			}
			rc := newRecordConn(src)
			got, err := drain(t, rc, src, c.reads)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if c.wantErr != errRecordTooLong && !bytes.Equal(got, c.stream) {
				t.Fatalf("handed on %d bytes of %d", len(got), len(c.stream))
			}
			if rc.idle() != c.wantIdle {
				t.Fatalf("idle() = %v after %v, want %v", rc.idle(), err, c.wantIdle)
			}
			if c.wantReads > 0 && src.reads != c.wantReads {
				t.Fatalf("%d socket reads, want %d", src.reads, c.wantReads)
			}
			if c.wantErr == errRecordTooLong {
				if _, err := rc.Read(make([]byte, 100)); err != errRecordTooLong {
					t.Fatalf("after a record too long, a read gives %v", err)
				}
			}
		})
	}
}

// The attack's shape: an answer's record and the first bytes of another
// arrive in one socket read. The reader hands on the answer's record
// only, and is then not idle: it holds the start of the next record.
func TestRecordConnHoldsAPartialRecordVisibly(t *testing.T) {
	answer, extra := tlsRecord(60, 'a'), tlsRecord(80, 's')
	for cut := 1; cut < len(extra); cut++ {
		src := &chunkConn{data: append(append([]byte(nil), answer...), extra[:cut]...), end: errTimeoutTest{}}
		rc := newRecordConn(src)
		p := make([]byte, 64<<10)
		n, err := rc.Read(p)
		if err != nil || !bytes.Equal(p[:n], answer) {
			t.Fatalf("cut %d: first read %d bytes, %v; want the answer's record of %d", cut, n, err, len(answer))
		}
		if rc.idle() {
			t.Fatalf("cut %d: idle with %d bytes of the next record held", cut, cut)
		}
	}
	// Nothing after the answer: idle, and no buffer held.
	src := &chunkConn{data: answer, end: errTimeoutTest{}}
	rc := newRecordConn(src)
	if n, err := rc.Read(make([]byte, 64<<10)); n != len(answer) || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if !rc.idle() || rc.buf != nil {
		t.Fatalf("after a whole record: idle %v, buffer held %v", rc.idle(), rc.buf != nil)
	}
	if _, err := rc.Read(make([]byte, 10)); !errors.Is(err, errTimeoutTest{}) || !rc.idle() {
		t.Fatalf("a timed-out read: %v, idle %v; want the timeout, still idle", err, rc.idle())
	}
}

type errTimeoutTest struct{}

func (errTimeoutTest) Error() string   { return "i/o timeout" }
func (errTimeoutTest) Timeout() bool   { return true }
func (errTimeoutTest) Temporary() bool { return true }

// A warm reader reads a small answer, and a download, without
// allocating, and holds no buffer after either; a download is read in
// large pieces.
func TestRecordConnDoesNotAllocate(t *testing.T) {
	if raceOn {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	small := tlsRecord(200, 'x')
	download := bytes.Repeat(tlsRecord(maxRecordBody, 'd'), 8)
	for _, stream := range [][]byte{small, download} {
		src := &chunkConn{}
		rc := newRecordConn(src)
		p := make([]byte, 64<<10)
		allocs := testing.AllocsPerRun(20, func() {
			src.data, src.given, src.reads = stream, 0, 0
			for got := 0; got < len(stream); {
				n, err := rc.Read(p)
				if err != nil {
					t.Fatalf("after %d bytes: %v", got, err)
				}
				got += n
			}
		})
		if allocs != 0 {
			t.Fatalf("%d-byte stream: %v allocations", len(stream), allocs)
		}
		if !rc.idle() || rc.buf != nil {
			t.Fatalf("%d-byte stream: idle %v, buffer held %v", len(stream), rc.idle(), rc.buf != nil)
		}
		// Large pieces: at most one small read more than they need.
		if most := 1 + (len(stream)+recordReadLarge-1)/recordReadLarge; len(stream) > recordReadSmall && src.reads > most {
			t.Fatalf("a %d-byte download took %d socket reads, want at most %d", len(stream), src.reads, most)
		}
	}
}

// FuzzRecordReader: any stream in any socket pieces and any read sizes
// comes out identical and in order, never more than one record per read,
// with idle() true exactly at a record boundary with nothing held.
func FuzzRecordReader(f *testing.F) {
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	f.Add(cat(tlsRecord(30, 'a'), tlsRecord(0, 0), tlsRecord(5, 'b')), []byte{3, 40, 1}, []byte{64}, false)
	f.Add(cat(tlsRecord(300, 'a'), tlsRecord(12, 'b')[:9]), []byte{200, 200}, []byte{1, 7}, true)
	f.Add(cat(tlsRecord(2, 'a'), []byte{23, 3, 3, 0xff, 0xff}), []byte{6}, []byte{}, false)
	f.Fuzz(func(t *testing.T, stream, pieces, reads []byte, errWithLast bool) {
		sizes := make([]int, len(pieces))
		for i, p := range pieces {
			sizes[i] = int(p)
		}
		readSizes := make([]int, len(reads))
		for i, r := range reads {
			readSizes[i] = int(r)
		}
		src := &chunkConn{data: stream, sizes: sizes, errWithLast: errWithLast}
		rc := newRecordConn(src)
		got, err := drain(t, rc, src, readSizes)
		ends, tooLong := recordBounds(stream)
		switch {
		case tooLong >= 0:
			if err != errRecordTooLong || len(got) != tooLong {
				t.Fatalf("a header announcing too long a record ends at %d: got %d bytes, %v", tooLong, len(got), err)
			}
		case err != io.EOF || !bytes.Equal(got, stream):
			t.Fatalf("got %d of %d bytes, %v", len(got), len(stream), err)
		}
		whole := len(stream) == 0 || len(ends) > 0 && ends[len(ends)-1] == len(stream)
		if tooLong < 0 && rc.idle() != whole {
			t.Fatalf("at the end of a stream %s, idle() = %v", map[bool]string{true: "of whole records", false: "cut mid-record"}[whole], rc.idle())
		}
	})
}
