// Package redact replaces secret values in response data with a fixed
// placeholder, in one shot (header values) or as a stream (bodies,
// websocket messages) whose memory is bounded by the longest value.
//
// Matching is leftmost-longest: scanning from the start, the first position
// where any value begins wins, and of the values beginning there the
// longest. A stream fed in any chunking produces exactly what one call on
// the whole input produces (a fuzz target checks it). It holds back only a
// tail that could still become a match — the longest suffix of what it has
// seen that is a proper prefix of some value — so at most the longest
// value's length minus one byte is ever held, and text that cannot start a
// value (an SSE event's closing blank line) is passed on at once.
//
// The package is pure: it knows nothing of HTTP or credentials; the proxy
// decides which values to redact (docs/proxy.md, "Response redaction").
package redact

import (
	"bytes"
	"slices"
	"strings"
)

// Placeholder replaces every redacted value. It is plain ASCII without
// quotes, backslashes, spaces or control bytes, so it is safe in JSON
// strings, header values and URLs alike.
const Placeholder = "[agent-vault:redacted]"

// MinLen is the shortest value redacted. Shorter values would match
// ordinary text everywhere (a two-letter password would shred every page);
// a secret that short should be replaced anyway.
const MinLen = 8

// Set is a compiled, immutable set of values; safe for concurrent use.
type Set struct {
	pats   [][]byte
	strs   []string // the same values, for strings without converting
	rare   []int    // index of each value's rarest byte (see index)
	maxLen int
	first  [256]bool // first bytes of the values
	grp    []int     // each value's group (anchor.go), or -1
	off    []int     // where its group's anchor starts in each value
	groups []group
}

// New compiles values, dropping repeats and values shorter than MinLen.
// It returns nil when nothing is left; every method of a nil *Set passes
// data through unchanged.
func New(values [][]byte) *Set {
	s := &Set{}
	for _, v := range values {
		if len(v) < MinLen || slices.ContainsFunc(s.pats, func(p []byte) bool { return bytes.Equal(p, v) }) {
			continue
		}
		s.pats = append(s.pats, bytes.Clone(v))
		s.strs = append(s.strs, string(v))
		s.rare = append(s.rare, rarest(v))
		s.maxLen = max(s.maxLen, len(v))
		s.first[v[0]] = true
	}
	if len(s.pats) == 0 {
		return nil
	}
	s.groupValues()
	return s
}

// Len is the number of distinct values.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.pats)
}

// MaxLen is the length of the longest value.
func (s *Set) MaxLen() int {
	if s == nil {
		return 0
	}
	return s.maxLen
}

// Contains reports whether b holds any value.
func (s *Set) Contains(b []byte) bool {
	if s == nil {
		return false
	}
	for _, p := range s.pats {
		if bytes.Contains(b, p) {
			return true
		}
	}
	return false
}

// InName reports whether name holds a value, ignoring ASCII case: header
// field names are case-insensitive, and HTTP/2 and Go's canonical form
// change their case. It does not allocate.
func (s *Set) InName(name string) bool {
	if s == nil || len(name) < MinLen {
		return false
	}
	for _, p := range s.strs {
		for i := 0; i+len(p) <= len(name); i++ {
			if strings.EqualFold(name[i:i+len(p)], p) {
				return true
			}
		}
	}
	return false
}

// String redacts a whole string (a header value) and returns it with the
// number of values replaced; v itself, without allocating, when none is.
func (s *Set) String(v string) (string, int) {
	if s == nil || len(v) < MinLen {
		return v, 0
	}
	if !slices.ContainsFunc(s.strs, func(p string) bool { return strings.Contains(v, p) }) {
		return v, 0
	}
	out, n := s.Bytes(nil, []byte(v))
	return string(out), n
}

// Bytes appends src, redacted, to dst and returns it with the number of
// values replaced. It is the one-shot form of a Stream.
func (s *Set) Bytes(dst, src []byte) ([]byte, int) {
	if s == nil {
		return append(dst, src...), 0
	}
	var small [16]int
	out, _, n := s.scan(dst, src, true, s.scratch(small[:]))
	return out, n
}

// scratch returns the scratch space of scan, one int per value and two
// per group, from small when it fits.
func (s *Set) scratch(small []int) []int {
	n := len(s.pats) + 2*len(s.groups)
	if n <= len(small) {
		return small[:n]
	}
	return make([]int, n)
}

// scan appends the redacted form of buf to dst, up to the point that is
// safe to emit. With final, everything is safe (the input ends here);
// otherwise the tail that could still grow into a match is left, and
// consumed says where it begins. scratch is from s.scratch.
func (s *Set) scan(dst, buf []byte, final bool, scratch []int) (out []byte, consumed, n int) {
	hold := len(buf)
	if !final {
		hold = s.partialFrom(buf, 0)
	}
	next, cache := scratch[:len(s.pats)], anchorCache(scratch[len(s.pats):])
	for i := range next {
		next[i] = -2 // not searched yet
	}
	cache.reset()
	pos := 0
	for {
		// The leftmost match from pos, the longest of those starting there.
		m, ml := -1, 0
		for i, p := range s.pats {
			if next[i] == -1 {
				continue // no occurrence left in buf
			}
			if next[i] < pos {
				if next[i] = s.find(buf, pos, i, cache); next[i] < 0 {
					continue
				}
			}
			if m < 0 || next[i] < m || next[i] == m && len(p) > ml {
				m, ml = next[i], len(p)
			}
		}
		// A match at or after the first possible partial match is not
		// decided yet: a longer value, or one starting earlier, may still
		// complete with the next input.
		if m < 0 || m >= hold {
			break
		}
		dst = append(dst, buf[pos:m]...)
		dst = append(dst, Placeholder...)
		pos = m + ml
		n++
		if !final && pos > hold {
			hold = s.partialFrom(buf, pos)
		}
	}
	end := max(hold, pos)
	dst = append(dst, buf[pos:end]...)
	return dst, end, n
}

// partialFrom returns the first position j ≥ from at which buf[j:] is a
// proper prefix of some value (so a match could start there and end in
// input not seen yet), or len(buf) when there is none. Only the last
// maxLen-1 bytes can qualify.
func (s *Set) partialFrom(buf []byte, from int) int {
	for j := max(from, len(buf)-s.maxLen+1); j < len(buf); j++ {
		if !s.first[buf[j]] {
			continue
		}
		tail := buf[j:]
		for _, p := range s.pats {
			if len(p) > len(tail) && bytes.HasPrefix(p, tail) {
				return j
			}
		}
	}
	return len(buf)
}
