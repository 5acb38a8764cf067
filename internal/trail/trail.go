// Package trail is the admin audit trail's pure core: the event row, its
// canonical encoding, the keyed hash chain that makes the trail
// tamper-evident, and the verifier that names the first row changed,
// inserted or deleted. It does no I/O; the store keeps the rows and the
// broker writes one per management action. (Package audit is something
// else: the log of proxied requests.)
package trail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"time"
)

// Outcomes of an action.
const (
	Success = "success" // the action was carried out
	Failure = "failure" // the action was refused or failed (wrong password, not allowed)
)

// Actor kinds.
const (
	ActorUser    = "user"
	ActorAgent   = "agent"
	ActorSession = "session" // a vault-scoped session
	ActorSystem  = "system"  // the server itself (retention) or the local operator (master password)
	ActorAnon    = "anonymous"
)

// Event is one row of the trail. It never holds a credential value, a
// password or a token: only names and ids.
type Event struct {
	Seq       int64     // position in the chain, 1, 2, 3… with no gap
	Time      time.Time // when the action happened (UTC)
	ActorKind string    // ActorUser, ActorAgent, …
	ActorID   string    // the user, agent or session id ("" when unknown)
	ActorName string    // email, agent:name, session:id, or the email tried at a failed login
	VaultID   string    // "" for instance-wide actions
	Vault     string    // the vault's name at the time
	Action    string    // e.g. "credential.set"; see actions.go
	Target    string    // what was acted on: credential keys, an email, an agent name…
	Source    string    // the client's address as the server saw it
	Outcome   string    // Success or Failure
	Detail    string    // a short note (new role, reason); never a value
	Hash      []byte    // Key.Sum(previous row's hash, this row)
}

// timeLayout is fixed-width, nanoseconds, UTC: the form the store keeps,
// so that a row hashes the same before and after a round trip.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Key is the HMAC key of the chain. Without it nobody can compute a row's
// hash, so an attacker who can write the database cannot rebuild the
// chain after editing it.
type Key struct{ k []byte }

// NewKey wraps key material (at least 32 bytes: derive it from the
// keyring, see keyring.Keyring.Derive).
func NewKey(k []byte) Key { return Key{k: append([]byte(nil), k...)} }

// Valid reports whether the key holds material.
func (k Key) Valid() bool { return len(k.k) >= 32 }

// Genesis is the "previous hash" of the first row.
var Genesis = make([]byte, sha256.Size)

// Sum is HMAC-SHA256 over the canonical encoding of e (every field but
// Hash, each length-prefixed, so that no two rows encode alike) after
// prev, the hash of the row before it.
func (k Key) Sum(prev []byte, e Event) []byte {
	return k.sumWith(hmac.New(sha256.New, k.k), prev, e)
}

// sumWith is Sum on an HMAC of k that a caller reuses (the verifier).
func (k Key) sumWith(m hash.Hash, prev []byte, e Event) []byte {
	m.Reset()
	m.Write(Canonical(prev, e))
	return m.Sum(nil)
}

// Canonical is the byte string a row's hash covers.
func Canonical(prev []byte, e Event) []byte {
	out := make([]byte, 0, 256)
	out = append(out, "agent-vault admin trail v1\x00"...)
	out = appendField(out, prev)
	out = binary.BigEndian.AppendUint64(out, uint64(e.Seq))
	for _, f := range []string{
		e.Time.UTC().Format(timeLayout), e.ActorKind, e.ActorID, e.ActorName, e.VaultID, e.Vault,
		e.Action, e.Target, e.Source, e.Outcome, e.Detail,
	} {
		out = appendField(out, []byte(f))
	}
	return out
}

func appendField(out, f []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
	return append(out, f...)
}

// Head is the chain's state the store keeps beside the rows: the newest
// row, and the cut below which retention deleted rows. Its MAC binds the
// four values, so the cut cannot be moved to hide deleted rows, nor the
// head moved back to hide deleted newest rows, without the key.
type Head struct {
	Seq     int64  // the newest row; 0 when none was ever written
	Hash    []byte // its hash (Genesis when Seq is 0)
	CutSeq  int64  // rows up to CutSeq were deleted by retention
	CutHash []byte // the hash of row CutSeq (Genesis when CutSeq is 0)
	MAC     []byte
}

// EmptyHead is the head of a chain with no row.
func EmptyHead() Head { return Head{Hash: Genesis, CutHash: Genesis} }

// HeadMAC is the MAC of h's four values.
func (k Key) HeadMAC(h Head) []byte {
	m := hmac.New(sha256.New, k.k)
	b := []byte("agent-vault admin trail head v1\x00")
	b = binary.BigEndian.AppendUint64(b, uint64(h.Seq))
	b = appendField(b, h.Hash)
	b = binary.BigEndian.AppendUint64(b, uint64(h.CutSeq))
	b = appendField(b, h.CutHash)
	m.Write(b)
	return m.Sum(nil)
}

// Chain sets e's Seq and Hash to follow h and returns the head after e.
func (k Key) Chain(h Head, e *Event) Head {
	e.Seq = h.Seq + 1
	e.Time = e.Time.UTC()
	e.Hash = k.Sum(h.Hash, *e)
	next := Head{Seq: e.Seq, Hash: e.Hash, CutSeq: h.CutSeq, CutHash: h.CutHash}
	next.MAC = k.HeadMAC(next)
	return next
}

// Cut returns h after deleting every row up to and including last (whose
// hash is lastHash).
func (k Key) Cut(h Head, last int64, lastHash []byte) Head {
	next := Head{Seq: h.Seq, Hash: h.Hash, CutSeq: last, CutHash: append([]byte(nil), lastHash...)}
	next.MAC = k.HeadMAC(next)
	return next
}
