package redact

// Stream redacts data that arrives in pieces. It keeps at most
// Set.MaxLen()-1 bytes between calls. The zero Stream is not usable; get
// one from Set.Stream. Not safe for concurrent use.
type Stream struct {
	set   *Set
	carry []byte // held tail: a possible start of a value
	buf   []byte // carry + input, when there is a carry
	next  []int  // scan's scratch space
	small [8]int // next's storage for small sets
	n     int
}

// Stream starts a stream over s. On a nil *Set it passes data through.
func (s *Set) Stream() *Stream {
	st := &Stream{}
	st.init(s)
	return st
}

// init sets st up over s; the carry is allocated once something is held.
func (st *Stream) init(s *Set) {
	st.set = s
	if s != nil {
		st.next = s.scratch(st.small[:])
	}
}

// Count is the number of values replaced so far.
func (st *Stream) Count() int { return st.n }

// Held is the number of bytes held back now.
func (st *Stream) Held() int { return len(st.carry) }

// Write appends to dst what of p (after what is held) is safe to emit,
// redacted, and holds back the rest.
func (st *Stream) Write(dst, p []byte) []byte {
	if st.set == nil {
		return append(dst, p...)
	}
	in := p
	if len(st.carry) > 0 {
		st.buf = append(append(st.buf[:0], st.carry...), p...)
		in = st.buf
	}
	out, consumed, n := st.set.scan(dst, in, false, st.next)
	st.n += n
	st.carry = append(st.carry[:0], in[consumed:]...)
	return out
}

// Safe is Write for the common case, without copying: when nothing is
// held and p holds no value before its possible partial match, it holds
// that tail and returns how many leading bytes of p may be emitted as
// they are, and true. Otherwise it changes nothing and returns false; the
// caller then uses Write.
func (st *Stream) Safe(p []byte) (int, bool) {
	if st.set == nil {
		return len(p), true
	}
	if len(st.carry) > 0 {
		return 0, false
	}
	hold := st.set.partialFrom(p, 0)
	if st.set.occursBefore(p, hold) {
		return 0, false
	}
	st.carry = append(st.carry[:0], p[hold:]...)
	return hold, true
}

// indexBefore reports whether pat occurs in p starting before end.
func indexBefore(p, pat []byte, rare, end int) bool {
	limit := min(len(p), end+len(pat)-1)
	return limit >= len(pat) && index(p[:limit], pat, rare) >= 0
}

// Flush appends what is held, redacted, at the end of the input.
func (st *Stream) Flush(dst []byte) []byte {
	if st.set == nil || len(st.carry) == 0 {
		return dst
	}
	out, _, n := st.set.scan(dst, st.carry, true, st.next)
	st.n += n
	st.carry = st.carry[:0]
	return out
}

// Reset drops what is held and starts over (the count is kept).
func (st *Stream) Reset() { st.carry = st.carry[:0] }
