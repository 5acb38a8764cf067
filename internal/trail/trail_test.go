package trail

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

var testKey = NewKey(bytes.Repeat([]byte{7}, 32))

// chain builds n rows chained from an empty head, as the store would.
func chain(k Key, n int) ([]Event, Head) {
	h := EmptyHead()
	var rows []Event
	for i := range n {
		e := Event{Time: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC), ActorKind: ActorUser, ActorID: "u1",
			ActorName: "owner@example.com", Action: CredentialSet, Target: fmt.Sprintf("KEY_%d", i), Source: "127.0.0.1", Outcome: Success}
		h = k.Chain(h, &e)
		rows = append(rows, e)
	}
	return rows, h
}

func verify(k Key, h Head, rows []Event) *Problem {
	v := NewVerifier(k, h)
	for _, e := range rows {
		v.Next(e)
	}
	return v.Finish()
}

func TestIntactChainVerifies(t *testing.T) {
	rows, h := chain(testKey, 5)
	if p := verify(testKey, h, rows); p != nil {
		t.Fatalf("intact chain: %v", p)
	}
	if p := verify(testKey, EmptyHead(), nil); p != nil {
		t.Fatalf("empty chain: %v", p)
	}
}

// Every way an attacker with write access to the table (but not the key)
// can alter the rows is found, and the first row concerned is named.
func TestVerifierNamesTheFirstBrokenRow(t *testing.T) {
	other := NewKey(bytes.Repeat([]byte{8}, 32))
	cases := []struct {
		name   string
		tamper func(rows []Event, h Head) ([]Event, Head)
		want   Problem
	}{
		{"field changed", func(r []Event, h Head) ([]Event, Head) { r[2].Target = "OTHER"; return r, h }, Problem{Kind: Changed, Seq: 3}},
		{"outcome flipped", func(r []Event, h Head) ([]Event, Head) { r[1].Outcome = Failure; return r, h }, Problem{Kind: Changed, Seq: 2}},
		{"time moved", func(r []Event, h Head) ([]Event, Head) { r[0].Time = r[0].Time.Add(time.Hour); return r, h }, Problem{Kind: Changed, Seq: 1}},
		{"row changed and rehashed without the key", func(r []Event, h Head) ([]Event, Head) {
			r[3].ActorName = "mallory"
			r[3].Hash = other.Sum(r[2].Hash, r[3])
			return r, h
		}, Problem{Kind: Changed, Seq: 4}},
		{"middle row deleted", func(r []Event, h Head) ([]Event, Head) { return append(r[:2:2], r[3:]...), h }, Problem{Kind: Deleted, Seq: 3, Last: 3}},
		{"first rows deleted", func(r []Event, h Head) ([]Event, Head) { return r[2:], h }, Problem{Kind: Deleted, Seq: 1, Last: 2}},
		{"newest rows deleted", func(r []Event, h Head) ([]Event, Head) { return r[:3], h }, Problem{Kind: Deleted, Seq: 4, Last: 5}},
		{"deleted and renumbered", func(r []Event, h Head) ([]Event, Head) {
			out := append(r[:2:2], r[3:]...)
			for i := 2; i < len(out); i++ {
				out[i].Seq--
			}
			return out, h
		}, Problem{Kind: Changed, Seq: 3}},
		{"row inserted and the rest renumbered", func(r []Event, h Head) ([]Event, Head) {
			fake := r[1]
			fake.Seq, fake.Target = 3, "FAKE"
			out := append(append(r[:2:2], fake), r[2:]...)
			for i := 3; i < len(out); i++ {
				out[i].Seq++
			}
			return out, h
		}, Problem{Kind: Inserted, Seq: 3}},
		{"row appended after the head", func(r []Event, h Head) ([]Event, Head) {
			fake := r[4]
			fake.Seq, fake.Hash = 6, other.Sum(r[4].Hash, fake)
			return append(r, fake), h
		}, Problem{Kind: Inserted, Seq: 6}},
		{"newest rows deleted and the head moved back", func(r []Event, h Head) ([]Event, Head) {
			h.Seq, h.Hash = 3, r[2].Hash
			return r[:3], h
		}, Problem{Kind: HeadBad}},
		{"old rows deleted and the cut moved", func(r []Event, h Head) ([]Event, Head) {
			h.CutSeq, h.CutHash = 2, r[1].Hash
			return r[2:], h
		}, Problem{Kind: HeadBad}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, h := chain(testKey, 5)
			rows, h = c.tamper(rows, h)
			p := verify(testKey, h, rows)
			if p == nil {
				t.Fatal("tampering not detected")
			}
			if *p != c.want {
				t.Fatalf("got %+v (%v), want %+v", *p, p, c.want)
			}
			if p.Error() == "" {
				t.Fatal("no message")
			}
		})
	}
}

// A retention cut keeps verification working from the cut's hash.
func TestCutVerifiesFromTheCheckpoint(t *testing.T) {
	rows, h := chain(testKey, 6)
	h = testKey.Cut(h, 3, rows[2].Hash)
	if p := verify(testKey, h, rows[3:]); p != nil {
		t.Fatalf("after the cut: %v", p)
	}
	// A row the cut should have removed but that is still there is not
	// part of what the head covers.
	if p := verify(testKey, h, rows[2:]); p == nil {
		t.Fatal("a row below the cut passed")
	}
}

// The encoding is unambiguous: moving bytes between fields changes the hash.
func TestCanonicalSeparatesFields(t *testing.T) {
	a := Event{Seq: 1, ActorName: "ab", Target: "c"}
	b := Event{Seq: 1, ActorName: "a", Target: "bc"}
	if bytes.Equal(testKey.Sum(Genesis, a), testKey.Sum(Genesis, b)) {
		t.Fatal("fields are not separated")
	}
	c := a
	c.Seq = 2
	if bytes.Equal(testKey.Sum(Genesis, a), testKey.Sum(Genesis, c)) {
		t.Fatal("seq is not covered")
	}
}

// A time that went through the store's text form hashes the same.
func TestTimeRoundTripKeepsHash(t *testing.T) {
	e := Event{Seq: 1, Time: time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))}
	h := testKey.Sum(Genesis, e)
	back, err := time.Parse(time.RFC3339Nano, e.Time.UTC().Format(timeLayout))
	if err != nil {
		t.Fatal(err)
	}
	e.Time = back
	if !bytes.Equal(h, testKey.Sum(Genesis, e)) {
		t.Fatal("hash changed over a round trip")
	}
}

func FuzzVerifierNeverAcceptsAChangedRow(f *testing.F) {
	f.Add(uint8(2), "x")
	f.Fuzz(func(t *testing.T, idx uint8, val string) {
		rows, h := chain(testKey, 4)
		i := int(idx) % len(rows)
		if rows[i].Detail == val {
			return
		}
		rows[i].Detail = val
		if p := verify(testKey, h, rows); p == nil || p.Seq != int64(i+1) {
			t.Fatalf("changed row %d: got %v", i+1, p)
		}
	})
}

// BenchmarkVerify is the verifier's cost per row (HMAC-SHA256 of about
// 200 bytes): audit verify over a large trail is bound by reading it.
func BenchmarkVerify(b *testing.B) {
	rows, h := chain(testKey, 10000)
	b.ResetTimer()
	for range b.N {
		if p := verify(testKey, h, rows); p != nil {
			b.Fatal(p)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}
