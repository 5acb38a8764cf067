package keyring

import (
	"bytes"
	"errors"
	"testing"

	"github.com/agent-vault/agent-vault/internal/secret"
)

// FuzzOpenState opens stored key material as a damaged or forged
// database would hold it: Open never panics, refuses with one of its
// errors, never asks Argon2id for more than its parameter bounds, and a
// keyring it does open seals and opens.
func FuzzOpenState(f *testing.F) {
	cheap := KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	_, st, err := New(secret.New([]byte("master")), cheap)
	if err != nil {
		f.Fatal(err)
	}
	_, plain, _ := New(secret.Bytes{}, cheap)
	f.Add(st.Plain, st.Wrapped, st.Salt, st.KDF.Time, st.KDF.MemoryKiB, st.KDF.Threads, "master")
	f.Add(st.Plain, st.Wrapped, st.Salt, st.KDF.Time, st.KDF.MemoryKiB, st.KDF.Threads, "wrong")
	f.Add(plain.Plain, []byte(nil), []byte(nil), uint32(0), uint32(0), uint8(0), "")
	f.Add(plain.Plain[:31], []byte(nil), []byte(nil), uint32(0), uint32(0), uint8(0), "")
	f.Add([]byte(nil), st.Wrapped[:5], st.Salt, uint32(1), uint32(4<<20+1), uint8(1), "master")
	f.Add([]byte(nil), st.Wrapped, st.Salt, uint32(1), uint32(64), uint8(255), "master")
	f.Fuzz(func(t *testing.T, plainDEK, wrapped, salt []byte, tm, mem uint32, threads uint8, pw string) {
		s := State{Plain: plainDEK, Wrapped: wrapped, Salt: salt, KDF: KDFParams{Time: tm, MemoryKiB: mem, Threads: threads}}
		if s.Protected() && s.KDF.check() == nil && uint64(mem)*uint64(tm) > 1<<12 {
			t.Skip("valid but costly parameters")
		}
		kr, err := Open(s, secret.New([]byte(pw)))
		if err != nil {
			for _, known := range []error{ErrWrongPassword, ErrNeedsPassword, ErrNoPassword, errMalformedState} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("Open: unexpected error %v", err)
		}
		ct, err := kr.Seal(secret.New([]byte("value")), AD("fuzz"))
		if err != nil {
			t.Fatal(err)
		}
		back, err := kr.Open(ct, AD("fuzz"))
		if err != nil || !bytes.Equal(back.Reveal(), []byte("value")) {
			t.Fatalf("an opened keyring does not round-trip: %v", err)
		}
	})
}
