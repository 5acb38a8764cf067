package trail

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
)

// Problem kinds.
const (
	Changed  = "changed"
	Inserted = "inserted"
	Deleted  = "deleted"
	HeadBad  = "head" // the chain's head record does not match its MAC or the rows
)

// Problem is the first break the verifier found.
type Problem struct {
	Kind string
	Seq  int64 // the row named: the changed or inserted one, the first deleted one
	// Last is the last deleted row of a run of deletions (Seq..Last).
	Last int64
}

func (p *Problem) Error() string {
	switch p.Kind {
	case Changed:
		return fmt.Sprintf("row %d was changed: its contents no longer match its hash", p.Seq)
	case Inserted:
		return fmt.Sprintf("row %d was inserted: it is not part of the chain", p.Seq)
	case Deleted:
		if p.Last > p.Seq {
			return fmt.Sprintf("rows %d to %d were deleted", p.Seq, p.Last)
		}
		return fmt.Sprintf("row %d was deleted", p.Seq)
	}
	return "the chain's head record was changed (its MAC does not match): the newest rows or the retention cut may have been tampered with"
}

// Verifier checks rows handed to it in ascending Seq order, from the
// first row above the head's cut to the newest.
type Verifier struct {
	k        Key
	mac      hash.Hash
	h        Head
	prev     []byte
	want     int64
	checked  int64
	pending  *Event // a row whose hash failed, kept to look at the next one
	pendPrev []byte
	problem  *Problem
}

// NewVerifier starts a verification of the chain whose stored head is h.
func NewVerifier(k Key, h Head) *Verifier {
	if len(h.CutHash) == 0 {
		h.CutHash = Genesis
	}
	return &Verifier{k: k, mac: hmac.New(sha256.New, k.k), h: h, prev: h.CutHash, want: h.CutSeq + 1}
}

// SetHead replaces the head Finish compares the rows with by a newer
// reading (rows appended while the verification ran). The cut stays the
// one the verification started from.
func (v *Verifier) SetHead(h Head) {
	h.CutSeq, h.CutHash = v.h.CutSeq, v.h.CutHash
	v.h = h
}

// Checked is how many rows verified.
func (v *Verifier) Checked() int64 { return v.checked }

// Done reports that a problem was found; later rows change nothing.
func (v *Verifier) Done() bool { return v.problem != nil }

// Next checks one row.
func (v *Verifier) Next(e Event) {
	if v.problem != nil {
		return
	}
	if p := v.pending; p != nil {
		v.pending = nil
		// A row slipped in with the rows after it renumbered: the next
		// row's hash still holds its old place after the row before.
		moved := e
		moved.Seq = p.Seq
		if e.Seq == p.Seq+1 && hmac.Equal(v.k.sumWith(v.mac, v.pendPrev, moved), e.Hash) {
			v.problem = &Problem{Kind: Inserted, Seq: p.Seq}
			return
		}
		v.problem = &Problem{Kind: Changed, Seq: p.Seq}
		return
	}
	switch {
	case e.Seq > v.want && v.want > v.h.Seq:
		// Past the newest row the head knows: not a gap but a row added.
		v.problem = &Problem{Kind: Inserted, Seq: e.Seq}
		return
	case e.Seq > v.want:
		v.problem = &Problem{Kind: Deleted, Seq: v.want, Last: e.Seq - 1}
		return
	case e.Seq < v.want:
		v.problem = &Problem{Kind: Inserted, Seq: e.Seq}
		return
	}
	if !hmac.Equal(v.k.sumWith(v.mac, v.prev, e), e.Hash) {
		cp := e
		v.pending, v.pendPrev = &cp, v.prev
		return
	}
	v.prev = e.Hash
	v.want++
	v.checked++
}

// Finish ends the verification: nil when every row and the head are
// intact, else the first problem.
func (v *Verifier) Finish() *Problem {
	if v.problem != nil {
		return v.problem
	}
	if p := v.pending; p != nil {
		if p.Seq > v.h.Seq {
			return &Problem{Kind: Inserted, Seq: p.Seq}
		}
		return &Problem{Kind: Changed, Seq: p.Seq}
	}
	last := v.want - 1
	switch {
	case last < v.h.Seq:
		return &Problem{Kind: Deleted, Seq: last + 1, Last: v.h.Seq}
	case last > v.h.Seq:
		// The rows chain under the key, so only the head can be wrong: it
		// was moved back (a replayed older head, say).
		return &Problem{Kind: HeadBad}
	case v.h.Seq == 0 && v.h.CutSeq == 0 && !hasNonZero(v.h.MAC):
		return nil // a trail no row was ever written to: its head has no MAC yet
	case !hmac.Equal(v.prev, v.h.Hash) || !hmac.Equal(v.k.HeadMAC(v.h), v.h.MAC):
		return &Problem{Kind: HeadBad}
	}
	return nil
}

func hasNonZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return true
		}
	}
	return false
}
