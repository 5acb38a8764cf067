package logsegment

import (
	"strconv"

	"github.com/agent-vault/agent-vault/internal/model"
)

// A summary says which values a segment's rows may hold, so that a
// filtered listing skips the segments that cannot match without decoding
// them. It is a Bloom filter, written once with the segment: a version
// byte and SummaryBits bits, over keys of the form field byte + value
// (the row's service, actor name, host, exact status and status class, as
// stored: cut like the row). A "no" is certain; a "maybe" is checked
// against the decoded rows as before, so a false positive costs a decode
// and never a wrong answer. Filled with every value distinct (an agent
// naming 256 made-up hosts), it answers "maybe" more often, never "no"
// wrongly.
const (
	SummaryVersion = 1
	SummaryBits    = 1024
	summaryHashes  = 4
)

// Field names what a summary key is.
type Field byte

// The fields a summary covers.
const (
	FieldService     Field = 's'
	FieldActor       Field = 'a'
	FieldHost        Field = 'h'
	FieldStatus      Field = 't'
	FieldStatusClass Field = 'c'
)

// Summarize builds the summary of rows (those of one segment).
func Summarize(rows []model.RequestLog) []byte {
	s := make(summary, 1+SummaryBits/8)
	s[0] = SummaryVersion
	// Rows repeat a few values: each field remembers its last ones and
	// hashes a value only the first time it is seen among them.
	var svc, actor, host recent[string]
	var status recent[int]
	var num [20]byte
	for _, r := range rows {
		if v := model.CapLogField(r.Service); svc.first(v) {
			add(s, FieldService, v)
		}
		if v := model.CapLogField(r.ActorName); actor.first(v) {
			add(s, FieldActor, v)
		}
		if v := model.CapLogField(r.Host); host.first(v) {
			add(s, FieldHost, v)
		}
		if st := max(r.Status, 0); status.first(st) { // as Encode stores it
			add(s, FieldStatus, strconv.AppendInt(num[:0], int64(st), 10))
			add(s, FieldStatusClass, strconv.AppendInt(num[:0], int64(st/100), 10))
		}
	}
	return s
}

// recent remembers the last few distinct values of a field.
type recent[T comparable] struct {
	v    [8]T
	n, i int
}

// first reports whether v is not among the remembered values, and
// remembers it.
func (r *recent[T]) first(v T) bool {
	for j := range r.n {
		if r.v[j] == v {
			return false
		}
	}
	r.v[r.i] = v
	r.i = (r.i + 1) % len(r.v)
	r.n = min(r.n+1, len(r.v))
	return true
}

// MayContain reports whether a segment whose summary is s may hold a row
// with value in field f. A missing summary (a segment written before
// summaries, or rewritten by an older version) or one of another version
// may hold anything.
func MayContain(s []byte, f Field, value string) bool {
	if len(s) != 1+SummaryBits/8 || s[0] != SummaryVersion {
		return true
	}
	h1, h2 := summaryHash(f, value)
	for i := range uint32(summaryHashes) {
		bit := (h1 + i*h2) % SummaryBits
		if s[1+bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

// summary is a summary being built.
type summary []byte

func add[V string | []byte](s summary, f Field, value V) {
	h1, h2 := summaryHash(f, value)
	for i := range uint32(summaryHashes) {
		bit := (h1 + i*h2) % SummaryBits
		s[1+bit/8] |= 1 << (bit % 8)
	}
}

// summaryHash is FNV-1a (64 bits) of the field and the value, split in
// two for double hashing. It is fixed: summaries outlive the process.
func summaryHash[V string | []byte](f Field, value V) (uint32, uint32) {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h ^= uint64(f)
	h *= prime
	for i := 0; i < len(value); i++ {
		h ^= uint64(value[i])
		h *= prime
	}
	return uint32(h), uint32(h>>32) | 1
}
