package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestPrefixesMatchSpec(t *testing.T) {
	// The token table of docs/security-model.md.
	for got, want := range map[string]string{
		PrefixSession:  "av_sess_",
		PrefixAgent:    "av_agt_",
		PrefixApproval: "av_appr_",
		PrefixInvite:   "av_uinv_",
	} {
		if got != want {
			t.Errorf("prefix %q, want %q", got, want)
		}
	}
}

func TestNewShape(t *testing.T) {
	for _, p := range []string{PrefixSession, PrefixAgent, PrefixApproval, PrefixInvite} {
		tok := New(p)
		if !strings.HasPrefix(tok, p) {
			t.Fatalf("New(%q) = %q lacks the prefix", p, tok)
		}
		if len(tok) != len(p)+64 {
			t.Fatalf("New(%q) has length %d, want %d", p, len(tok), len(p)+64)
		}
		raw, err := hex.DecodeString(tok[len(p):])
		if err != nil || len(raw) != 32 {
			t.Fatalf("New(%q) body is not 32 bytes of hex: %v", p, err)
		}
		if strings.ToLower(tok) != tok {
			t.Fatalf("New(%q) = %q is not lowercase hex", p, tok)
		}
		if !HasPrefix(tok, p) {
			t.Errorf("HasPrefix(New(%q), %q) = false", p, p)
		}
	}
}

func TestNewIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		tok := New(PrefixAgent)
		if seen[tok] {
			t.Fatalf("duplicate token after %d draws", i)
		}
		seen[tok] = true
	}
	// Every hex digit shows up: the body is not constant or zero.
	all := ""
	for tok := range seen {
		all += tok[len(PrefixAgent):]
	}
	for _, c := range "0123456789abcdef" {
		if !strings.ContainsRune(all, c) {
			t.Errorf("hex digit %q never appears in 2000 tokens", c)
		}
	}
}

func TestHashIsSHA256(t *testing.T) {
	for _, tok := range []string{"", "av_sess_abc", New(PrefixSession)} {
		want := sha256.Sum256([]byte(tok))
		got := Hash(tok)
		if !bytes.Equal(got, want[:]) || len(got) != 32 {
			t.Errorf("Hash(%q) = %x, want %x", tok, got, want)
		}
	}
	// Known vector: SHA-256("abc").
	if got := hex.EncodeToString(Hash("abc")); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Hash(abc) = %s", got)
	}
	a, b := New(PrefixSession), New(PrefixSession)
	if bytes.Equal(Hash(a), Hash(b)) {
		t.Error("two tokens hash alike")
	}
	if bytes.Contains(Hash(a), []byte(a)) {
		t.Error("hash contains the token")
	}
}

func TestHasPrefix(t *testing.T) {
	good := PrefixSession + strings.Repeat("0a", 32)
	cases := []struct {
		tok, prefix string
		want        bool
	}{
		{good, PrefixSession, true},
		{good, PrefixAgent, false},
		{PrefixAgent + strings.Repeat("f", 64), PrefixAgent, true},
		{PrefixSession + strings.Repeat("a", 63), PrefixSession, false},
		{PrefixSession + strings.Repeat("a", 65), PrefixSession, false},
		{PrefixSession + strings.Repeat("A", 64), PrefixSession, false},
		{PrefixSession + strings.Repeat("g", 64), PrefixSession, false},
		{PrefixSession + strings.Repeat("a", 63) + " ", PrefixSession, false},
		{PrefixSession + strings.Repeat("a", 62) + "é", PrefixSession, false},
		{"AV_SESS_" + strings.Repeat("a", 64), PrefixSession, false},
		{strings.Repeat("a", 64), PrefixSession, false},
		{"", PrefixSession, false},
		{PrefixSession, PrefixSession, false},
	}
	for _, c := range cases {
		if got := HasPrefix(c.tok, c.prefix); got != c.want {
			t.Errorf("HasPrefix(%q, %q) = %v, want %v", c.tok, c.prefix, got, c.want)
		}
	}
}

func TestID(t *testing.T) {
	for _, n := range []int{1, 8, 16} {
		id := ID(n)
		if len(id) != 2*n {
			t.Errorf("ID(%d) = %q, want %d hex chars", n, id, 2*n)
		}
		if _, err := hex.DecodeString(id); err != nil {
			t.Errorf("ID(%d) = %q is not hex", n, id)
		}
	}
	if a, b := ID(16), ID(16); a == b {
		t.Error("two 128-bit ids are equal")
	}
	if ID(0) != "" {
		t.Error("ID(0) is not empty")
	}
}
