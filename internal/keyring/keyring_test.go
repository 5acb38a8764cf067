package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/agent-vault/agent-vault/internal/secret"
)

// testKDF keeps Argon2id cheap in tests; the stored parameters, not the
// defaults, are what Open uses.
var testKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func pw(s string) secret.Bytes { return secret.FromString(s) }

func newProtected(t *testing.T, password string) (*Keyring, State) {
	t.Helper()
	kr, st, err := New(pw(password), testKDF)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return kr, st
}

func TestDefaultKDFMatchesSpec(t *testing.T) {
	// docs/security-model.md: Argon2id t=3, m=64 MiB, p=4.
	if DefaultKDF != (KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}) {
		t.Errorf("DefaultKDF = %+v", DefaultKDF)
	}
}

func TestNewProtectedState(t *testing.T) {
	kr, st := newProtected(t, "correct horse")
	if !st.Protected() {
		t.Fatal("state with a password is not protected")
	}
	if st.Plain != nil {
		t.Error("protected state also stores the DEK in clear")
	}
	if len(st.Salt) != 16 {
		t.Errorf("salt is %d bytes, want 16 (128-bit)", len(st.Salt))
	}
	if st.KDF != testKDF {
		t.Errorf("state KDF = %+v, want the params it was made with %+v", st.KDF, testKDF)
	}
	// nonce(12) + DEK(32) + tag(16)
	if len(st.Wrapped) != 12+32+16 {
		t.Errorf("wrapped DEK is %d bytes", len(st.Wrapped))
	}
	if bytes.Contains(st.Wrapped, kr.dek.Reveal()) {
		t.Error("wrapped state contains the DEK in clear")
	}
	if kr.dek.Len() != 32 {
		t.Errorf("DEK is %d bytes, want 32 (256-bit)", kr.dek.Len())
	}
}

func TestOpenRoundTrip(t *testing.T) {
	kr, st := newProtected(t, "correct horse")
	ad := AD("credential", "vault-1", "STRIPE_KEY")
	ct, err := kr.Seal(secret.FromString("sk_live_123"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("sk_live_123")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	kr2, err := Open(st, pw("correct horse"))
	if err != nil {
		t.Fatalf("Open with the right password: %v", err)
	}
	got, err := kr2.Open(ct, ad)
	if err != nil {
		t.Fatalf("reopened keyring cannot open: %v", err)
	}
	if string(got.Reveal()) != "sk_live_123" {
		t.Errorf("opened %q", got.Reveal())
	}
}

func TestOpenWrongPassword(t *testing.T) {
	_, st := newProtected(t, "correct horse")
	for _, wrong := range []string{"correct horsE", "correct horse ", "x"} {
		kr, err := Open(st, pw(wrong))
		if !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Open(%q) err = %v, want ErrWrongPassword", wrong, err)
		}
		if kr != nil {
			t.Errorf("Open(%q) returned a keyring", wrong)
		}
	}
}

func TestOpenProtectedWithoutPassword(t *testing.T) {
	_, st := newProtected(t, "pw")
	if _, err := Open(st, secret.Bytes{}); !errors.Is(err, ErrNeedsPassword) {
		t.Errorf("err = %v, want ErrNeedsPassword", err)
	}
}

func TestPasswordless(t *testing.T) {
	kr, st, err := New(secret.Bytes{}, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	if st.Protected() || len(st.Plain) != 32 || st.Wrapped != nil || st.Salt != nil {
		t.Fatalf("passwordless state = protected %v, plain %d bytes, wrapped %d, salt %d",
			st.Protected(), len(st.Plain), len(st.Wrapped), len(st.Salt))
	}
	ad := AD("ca-key")
	ct, err := kr.Seal(secret.FromString("ca private key"), ad)
	if err != nil {
		t.Fatal(err)
	}
	kr2, err := Open(st, secret.Bytes{})
	if err != nil {
		t.Fatalf("passwordless Open: %v", err)
	}
	if got, err := kr2.Open(ct, ad); err != nil || string(got.Reveal()) != "ca private key" {
		t.Errorf("passwordless reopen = %q, %v", got.Reveal(), err)
	}
	// Giving a password to a passwordless instance is refused, not ignored.
	if _, err := Open(st, pw("anything")); !errors.Is(err, ErrNoPassword) {
		t.Errorf("Open(passwordless, pw) err = %v, want ErrNoPassword", err)
	}
	// The stored state is a copy: wiping it does not break the keyring.
	clear(st.Plain)
	if got, err := kr.Open(ct, ad); err != nil || string(got.Reveal()) != "ca private key" {
		t.Errorf("after clearing the returned state, Open = %q, %v", got.Reveal(), err)
	}
}

func TestOpenMalformedState(t *testing.T) {
	_, good := newProtected(t, "pw")
	cases := map[string]State{
		"empty":              {},
		"short plain":        {Plain: make([]byte, 16)},
		"long plain":         {Plain: make([]byte, 33)},
		"short salt":         {Wrapped: good.Wrapped, Salt: good.Salt[:8], KDF: good.KDF},
		"zero time":          {Wrapped: good.Wrapped, Salt: good.Salt, KDF: KDFParams{MemoryKiB: 64, Threads: 1}},
		"zero threads":       {Wrapped: good.Wrapped, Salt: good.Salt, KDF: KDFParams{Time: 1, MemoryKiB: 64}},
		"truncated wrapped":  {Wrapped: good.Wrapped[:10], Salt: good.Salt, KDF: good.KDF},
		"different kdf time": {Wrapped: good.Wrapped, Salt: good.Salt, KDF: KDFParams{Time: 2, MemoryKiB: 64, Threads: 1}},
	}
	for name, st := range cases {
		t.Run(name, func(t *testing.T) {
			password := pw("pw")
			if !st.Protected() {
				password = secret.Bytes{}
			}
			kr, err := Open(st, password)
			if err == nil || kr != nil {
				t.Fatalf("Open = %v, %v; want an error", kr, err)
			}
		})
	}
}

func TestTamperedWrappedDEK(t *testing.T) {
	_, st := newProtected(t, "pw")
	for i := range st.Wrapped {
		bad := st
		bad.Wrapped = append([]byte(nil), st.Wrapped...)
		bad.Wrapped[i] ^= 0x01
		if _, err := Open(bad, pw("pw")); err == nil {
			t.Fatalf("flipping byte %d of the wrapped DEK still opens", i)
		}
	}
	bad := st
	bad.Salt = append([]byte(nil), st.Salt...)
	bad.Salt[0] ^= 0x80
	if _, err := Open(bad, pw("pw")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("changed salt: err = %v, want ErrWrongPassword", err)
	}
}

func TestTamperedCiphertextFails(t *testing.T) {
	kr, _, err := New(secret.Bytes{}, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("credential", "v1", "KEY")
	ct, err := kr.Seal(secret.FromString("value"), ad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := append([]byte(nil), ct...)
		bad[i] ^= 0x40
		if got, err := kr.Open(bad, ad); !errors.Is(err, ErrDecrypt) || !got.IsEmpty() {
			t.Fatalf("flipping byte %d: Open = %q, %v; want ErrDecrypt", i, got.Reveal(), err)
		}
	}
	for _, n := range []int{0, 1, 12, 12 + 15, len(ct) - 1} {
		if _, err := kr.Open(ct[:n], ad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("truncated to %d bytes: err = %v, want ErrDecrypt", n, err)
		}
	}
	if _, err := kr.Open(append(append([]byte(nil), ct...), 0), ad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("extended ciphertext: err = %v, want ErrDecrypt", err)
	}
	if _, err := kr.Open(nil, ad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("nil ciphertext: err = %v", err)
	}
}

func TestAssociatedDataBindsRow(t *testing.T) {
	kr, _, err := New(secret.Bytes{}, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("credential", "vault-a", "STRIPE_KEY")
	ct, err := kr.Seal(secret.FromString("v"), ad)
	if err != nil {
		t.Fatal(err)
	}
	for name, other := range map[string][]byte{
		"other vault": AD("credential", "vault-b", "STRIPE_KEY"),
		"other key":   AD("credential", "vault-a", "SLACK_TOKEN"),
		"other kind":  AD("oauth", "vault-a", "STRIPE_KEY"),
		"no ad":       nil,
		"re-split":    AD("credential", "vault-aSTRIPE_KEY"),
	} {
		if _, err := kr.Open(ct, other); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
		}
	}
	// Swapping two rows' ciphertexts: neither opens under the other's AD.
	ad2 := AD("credential", "vault-a", "OTHER_KEY")
	ct2, _ := kr.Seal(secret.FromString("w"), ad2)
	if _, err := kr.Open(ct, ad2); err == nil {
		t.Error("row 1's ciphertext opens as row 2")
	}
	if _, err := kr.Open(ct2, ad); err == nil {
		t.Error("row 2's ciphertext opens as row 1")
	}
}

func TestADIsUnambiguous(t *testing.T) {
	pairs := [][2][]string{
		{{"ab", "c"}, {"a", "bc"}},
		{{"a:b"}, {"a", "b"}},
		{{"1:a;"}, {"a"}},
		{{""}, {}},
		{{"", ""}, {""}},
		{{"a;2:b"}, {"a", "b"}},
	}
	for _, p := range pairs {
		if bytes.Equal(AD(p[0]...), AD(p[1]...)) {
			t.Errorf("AD(%q) == AD(%q)", p[0], p[1])
		}
	}
	if !bytes.Equal(AD("x", "y"), AD("x", "y")) {
		t.Error("AD is not deterministic")
	}
}

func TestFreshNoncePerSeal(t *testing.T) {
	kr, _, err := New(secret.Bytes{}, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("credential", "v", "K")
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for i := 0; i < 50; i++ {
		ct, err := kr.Seal(secret.FromString("same plaintext"), ad)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(ct)] {
			t.Fatal("two seals of the same plaintext gave the same ciphertext")
		}
		seen[string(ct)] = true
		if nonces[string(ct[:12])] {
			t.Fatal("nonce reused")
		}
		nonces[string(ct[:12])] = true
	}
}

func TestKeyringsHaveDistinctDEKs(t *testing.T) {
	a, _, _ := New(secret.Bytes{}, testKDF)
	b, _, _ := New(secret.Bytes{}, testKDF)
	ad := AD("x")
	ct, _ := a.Seal(secret.FromString("v"), ad)
	if _, err := b.Open(ct, ad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another instance's keyring opens the ciphertext: %v", err)
	}
}

func TestSealEmptyPlaintext(t *testing.T) {
	kr, _, _ := New(secret.Bytes{}, testKDF)
	ct, err := kr.Seal(secret.Bytes{}, AD("e"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := kr.Open(ct, AD("e"))
	if err != nil || !got.IsEmpty() {
		t.Errorf("empty round trip = %q, %v", got.Reveal(), err)
	}
}

// Wrap re-wraps the same DEK: data sealed before opens after, whether the
// password is set, changed or removed (`master-password set|change|remove`).
func TestWrapKeepsDEK(t *testing.T) {
	kr, st0, err := New(secret.Bytes{}, testKDF) // passwordless
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("credential", "v", "K")
	ct, err := kr.Seal(secret.FromString("before"), ad)
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name     string
		password string
	}{
		{"set", "first"},
		{"change", "second"},
		{"change again", "third"},
		{"remove", ""},
	}
	prev, prevPW := st0, ""
	for _, s := range steps {
		st, err := kr.Wrap(pw(s.password), testKDF)
		if err != nil {
			t.Fatalf("%s: Wrap: %v", s.name, err)
		}
		if st.Protected() != (s.password != "") {
			t.Fatalf("%s: Protected = %v", s.name, st.Protected())
		}
		reopened, err := Open(st, pw(s.password))
		if err != nil {
			t.Fatalf("%s: Open with new password: %v", s.name, err)
		}
		got, err := reopened.Open(ct, ad)
		if err != nil || string(got.Reveal()) != "before" {
			t.Fatalf("%s: data sealed before Wrap = %q, %v", s.name, got.Reveal(), err)
		}
		// New data sealed by the reopened keyring opens with the original.
		ct2, _ := reopened.Seal(secret.FromString("after"), ad)
		if got, err := kr.Open(ct2, ad); err != nil || string(got.Reveal()) != "after" {
			t.Fatalf("%s: original cannot open data of the reopened keyring: %v", s.name, err)
		}
		// The old password no longer opens the new state.
		if s.password != "" && prevPW != "" {
			if _, err := Open(st, pw(prevPW)); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("%s: old password on new state: err = %v", s.name, err)
			}
		}
		// The old state is untouched (Wrap changes nothing stored by itself).
		if _, err := Open(prev, pw(prevPW)); err != nil {
			t.Errorf("%s: previous state no longer opens: %v", s.name, err)
		}
		prev, prevPW = st, s.password
	}
}

func TestWrapUsesFreshSalt(t *testing.T) {
	kr, st1 := newProtected(t, "same")
	st2, err := kr.Wrap(pw("same"), testKDF)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(st1.Salt, st2.Salt) {
		t.Error("two wraps share a salt")
	}
	if bytes.Equal(st1.Wrapped, st2.Wrapped) {
		t.Error("two wraps give the same wrapped DEK")
	}
}

func TestKDFParamsAreStoredAndUsed(t *testing.T) {
	other := KDFParams{Time: 2, MemoryKiB: 128, Threads: 2}
	kr, _ := newProtected(t, "pw")
	st, err := kr.Wrap(pw("pw"), other)
	if err != nil {
		t.Fatal(err)
	}
	if st.KDF != other {
		t.Fatalf("state KDF = %+v, want %+v", st.KDF, other)
	}
	if _, err := Open(st, pw("pw")); err != nil {
		t.Errorf("Open with stored non-default params: %v", err)
	}
	st.KDF.MemoryKiB = 64
	if _, err := Open(st, pw("pw")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("Open with altered memory param: err = %v, want ErrWrongPassword", err)
	}
}

func TestKeyringDoesNotPrintDEK(t *testing.T) {
	kr, st, _ := New(secret.Bytes{}, testKDF)
	for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
		// The DEK inside the keyring is a secret.Bytes.
		out := fmt.Sprintf(verb, kr.dek)
		if bytes.Contains([]byte(out), st.Plain) || out != "[REDACTED]" {
			t.Errorf("Sprintf(%s, dek) = %q", verb, out)
		}
	}
}

// Derived keys depend on the DEK and the label only: the same after the
// master password changes (the admin trail's chain stays verifiable),
// different per label and per instance, and never the DEK itself.
func TestDerive(t *testing.T) {
	kr, _ := newProtected(t, "first-password")
	a := kr.Derive("admin-trail-chain")
	if len(a) != 32 || bytes.Equal(a, kr.dek.Reveal()) {
		t.Fatal("derived key is not a fresh 32-byte key")
	}
	if bytes.Equal(a, kr.Derive("other-purpose")) {
		t.Fatal("two labels derive the same key")
	}
	rewrapped, err := kr.Wrap(pw("second-password"), testKDF)
	if err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(rewrapped, pw("second-password"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, reopened.Derive("admin-trail-chain")) {
		t.Fatal("the derived key changed with the master password")
	}
	other, _ := newProtected(t, "first-password")
	if bytes.Equal(a, other.Derive("admin-trail-chain")) {
		t.Fatal("two instances derive the same key")
	}
}
