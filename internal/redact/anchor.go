package redact

import "bytes"

// Values that share a run of letters and digits are searched for
// together. A credential is redacted in many forms (escaped for URLs,
// JSON and HTML, once and twice), and every form keeps the value's
// letters and digits as they are: "ab/cdefgh+ij" and "ab%2Fcdefgh%2Bij"
// both hold "cdefgh". Searching each form on its own would read the input
// once per form; a group reads it once for the shared run, its anchor,
// and checks each member where the anchor was found.

// minAnchor is the shortest run shared as an anchor: shorter runs occur
// in ordinary text too often to be worth checking every member at.
const minAnchor = 6

// group is values sharing an anchor.
type group struct {
	anchor  []byte
	rare    int   // index of the anchor's rarest byte (index.go)
	members []int // indexes into Set.pats
	maxOff  int   // the largest offset of the anchor in a member
}

// groupValues puts the values of s that share a run of at least minAnchor
// letters and digits into groups: greedily, the run held by the most
// values not grouped yet (the longer on a tie), while it is held by two
// or more. s.grp[i] is the group of value i, or -1: searched alone.
func (s *Set) groupValues() {
	s.grp = make([]int, len(s.pats))
	s.off = make([]int, len(s.pats))
	for i := range s.grp {
		s.grp[i] = -1
	}
	if len(s.pats) < 2 {
		return
	}
	var runs [][]byte
	for _, p := range s.pats {
		for i := 0; i < len(p); {
			j := i
			for j < len(p) && alnum(p[j]) {
				j++
			}
			if j-i >= minAnchor && !containsBytes(runs, p[i:j]) {
				runs = append(runs, p[i:j])
			}
			i = j + 1
		}
	}
	for {
		var best []byte
		bestN := 1
		for _, r := range runs {
			n := 0
			for i, p := range s.pats {
				if s.grp[i] < 0 && bytes.Contains(p, r) {
					n++
				}
			}
			if n > bestN || n == bestN && n > 1 && len(r) > len(best) {
				best, bestN = r, n
			}
		}
		if best == nil {
			return
		}
		g := group{anchor: best, rare: rarest(best)}
		for i, p := range s.pats {
			if s.grp[i] < 0 && bytes.Contains(p, best) {
				s.grp[i], s.off[i] = len(s.groups), bytes.Index(p, best)
				g.members = append(g.members, i)
				g.maxOff = max(g.maxOff, s.off[i])
			}
		}
		s.groups = append(s.groups, g)
	}
}

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// anchorCache remembers, per group, the last anchor search of one scan:
// from where it searched and where it found the anchor (-1: nowhere
// after). Members ask for the first anchor at or after positions that
// mostly grow, so most questions are answered without searching.
type anchorCache []int

func (c anchorCache) reset() {
	for i := 0; i < len(c); i += 2 {
		c[i] = -1
	}
}

// anchorFrom returns the first position ≥ q at which group g's anchor
// starts in buf, or -1.
func (s *Set) anchorFrom(buf []byte, g, q int, c anchorCache) int {
	from, at := c[2*g], c[2*g+1]
	if from >= 0 && from <= q && (at < 0 || q <= at) {
		return at
	}
	at = -1
	if q <= len(buf) {
		if j := index(buf[q:], s.groups[g].anchor, s.groups[g].rare); j >= 0 {
			at = q + j
		}
	}
	c[2*g], c[2*g+1] = q, at
	return at
}

// find returns the first position ≥ pos at which value i starts in buf,
// or -1.
func (s *Set) find(buf []byte, pos, i int, c anchorCache) int {
	p := s.pats[i]
	g := s.grp[i]
	if g < 0 {
		if j := index(buf[pos:], p, s.rare[i]); j >= 0 {
			return pos + j
		}
		return -1
	}
	off := s.off[i]
	for q, fails := pos+off, 0; ; fails++ {
		h := s.anchorFrom(buf, g, q, c)
		if h < 0 {
			return -1
		}
		start := h - off
		if start+len(p) <= len(buf) && bytes.Equal(buf[start:start+len(p)], p) {
			return start
		}
		q = h + 1
		if fails > 16 {
			// The anchor is common in this input but this value is not:
			// search for the value itself, which is linear.
			if j := index(buf[start+1:], p, s.rare[i]); j >= 0 {
				return start + 1 + j
			}
			return -1
		}
	}
}

// occursBefore reports whether some value occurs in p starting before end.
func (s *Set) occursBefore(p []byte, end int) bool {
	for i, pat := range s.pats {
		if s.grp[i] < 0 && indexBefore(p, pat, s.rare[i], end) {
			return true
		}
	}
	for g := range s.groups {
		if s.groupBefore(p, g, end) {
			return true
		}
	}
	return false
}

// groupBefore reports whether a member of group g occurs in p starting
// before end.
func (s *Set) groupBefore(p []byte, g, end int) bool {
	gr := &s.groups[g]
	// A member starting before end has its anchor start before end+maxOff.
	limit := min(len(p), end+gr.maxOff+len(gr.anchor)-1)
	q, fails := 0, 0
	for q < limit {
		j := index(p[q:limit], gr.anchor, gr.rare)
		if j < 0 {
			return false
		}
		h := q + j
		for _, i := range gr.members {
			start := h - s.off[i]
			pat := s.pats[i]
			if start >= 0 && start < end && start+len(pat) <= len(p) && bytes.Equal(p[start:start+len(pat)], pat) {
				return true
			}
		}
		q = h + 1
		if fails++; fails > 16 {
			// A common anchor here: ask each member directly (linear).
			for _, i := range gr.members {
				if indexBefore(p, s.pats[i], s.rare[i], end) {
					return true
				}
			}
			return false
		}
	}
	return false
}
