// Package keyring owns encryption at rest (docs/security-model.md): a random 256-bit data
// encryption key (DEK) seals every secret with AES-256-GCM, a fresh nonce
// and associated data that binds the ciphertext to its row; a key
// encryption key (KEK) derived from the master password with Argon2id
// wraps the DEK, or the DEK is stored unwrapped in passwordless mode.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
)

// KDFParams are the Argon2id parameters of a wrapped DEK. They are stored
// with it, so they can be raised later.
type KDFParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is t=3, m=64 MiB, p=4 (docs/security-model.md, "Encryption at
// rest").
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

const (
	dekLen  = 32
	saltLen = 16
)

// Errors callers act on.
var (
	ErrWrongPassword  = errors.New("the master password is wrong")
	ErrNeedsPassword  = errors.New("this instance is protected by a master password")
	ErrNoPassword     = errors.New("this instance has no master password")
	ErrDecrypt        = errors.New("keyring: ciphertext does not authenticate")
	ErrEmptyPassword  = errors.New("the master password must not be empty")
	errMalformedState = errors.New("keyring: stored key material is malformed")
)

// State is the stored form of the keyring: exactly one of Plain (passwordless)
// or Wrapped+Salt+KDF is set. It holds no secret in clear unless passwordless.
type State struct {
	Plain   []byte // the DEK itself, passwordless mode only
	Wrapped []byte // nonce || AES-GCM(KEK, DEK)
	Salt    []byte
	KDF     KDFParams
}

// Protected reports whether the DEK is wrapped by a master password.
func (s State) Protected() bool { return len(s.Wrapped) > 0 }

// Format never prints key material (Plain is the DEK in passwordless mode).
func (s State) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "keyring.State{protected:%t kdf:%+v}", s.Protected(), s.KDF)
}

// maxKDFMemoryKiB bounds what a stored (possibly corrupted) state can ask
// Argon2id for: 4 GiB.
const maxKDFMemoryKiB = 4 << 20

// check reports parameters Argon2id would panic on or that are absurd.
func (p KDFParams) check() error {
	if p.Time == 0 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB || p.Time > 100 {
		return fmt.Errorf("keyring: invalid KDF parameters t=%d m=%d p=%d", p.Time, p.MemoryKiB, p.Threads)
	}
	return nil
}

// Keyring seals and opens secrets with the unwrapped DEK.
type Keyring struct {
	aead cipher.AEAD
	dek  secret.Bytes
}

// Format never prints key material, whatever the verb: fmt would otherwise
// walk into the AEAD's key schedule.
func (k Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("keyring.Keyring{[REDACTED]}")) }

// New creates a fresh DEK. With a non-empty password the returned state
// wraps it; with an empty one the instance is passwordless.
func New(pw secret.Bytes, kdf KDFParams) (*Keyring, State, error) {
	dek := make([]byte, dekLen)
	if _, err := rand.Read(dek); err != nil {
		return nil, State{}, err
	}
	kr, err := fromDEK(dek)
	if err != nil {
		return nil, State{}, err
	}
	st, err := kr.Wrap(pw, kdf)
	if err != nil {
		return nil, State{}, err
	}
	return kr, st, nil
}

// Open unlocks a stored state. A protected state needs the right password;
// a passwordless one refuses a password so nobody believes it is in force.
func Open(st State, pw secret.Bytes) (*Keyring, error) {
	if !st.Protected() {
		if !pw.IsEmpty() {
			return nil, ErrNoPassword
		}
		if len(st.Plain) != dekLen {
			return nil, errMalformedState
		}
		return fromDEK(append([]byte(nil), st.Plain...))
	}
	if pw.IsEmpty() {
		return nil, ErrNeedsPassword
	}
	if len(st.Salt) != saltLen || st.KDF.check() != nil {
		return nil, errMalformedState
	}
	kek := deriveKEK(pw, st.Salt, st.KDF)
	defer clear(kek)
	dek, err := openWith(kek, st.Wrapped, wrapAD)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return fromDEK(dek)
}

// Wrap returns the stored state of this keyring's DEK under pw (empty pw:
// passwordless). The DEK itself does not change, so no secret is re-encrypted.
func (k *Keyring) Wrap(pw secret.Bytes, kdf KDFParams) (State, error) {
	if pw.IsEmpty() {
		return State{Plain: append([]byte(nil), k.dek.Reveal()...)}, nil
	}
	if err := kdf.check(); err != nil {
		return State{}, err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return State{}, err
	}
	kek := deriveKEK(pw, salt, kdf)
	defer clear(kek)
	wrapped, err := sealWith(kek, k.dek.Reveal(), wrapAD)
	if err != nil {
		return State{}, err
	}
	return State{Wrapped: wrapped, Salt: salt, KDF: kdf}, nil
}

// Seal encrypts plaintext bound to ad. Associated data names the row the
// ciphertext belongs to (see AD), so a ciphertext copied to another row
// does not open.
func (k *Keyring) Seal(plaintext secret.Bytes, ad []byte) ([]byte, error) {
	return seal(k.aead, plaintext.Reveal(), ad)
}

// Open decrypts a ciphertext made by Seal with the same associated data.
func (k *Keyring) Open(ciphertext, ad []byte) (secret.Bytes, error) {
	pt, err := open(k.aead, ciphertext, ad)
	if err != nil {
		return secret.Bytes{}, err
	}
	return secret.New(pt), nil
}

// Derive returns a 32-byte key for one purpose (label), computed from the
// DEK with HMAC-SHA256: the DEK itself never leaves the keyring, and keys
// for different purposes are unrelated. The admin trail's chain key is
// one (see docs/operations.md).
func (k *Keyring) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.dek.Reveal())
	m.Write([]byte("agent-vault derive v1\x00" + label))
	return m.Sum(nil)
}

// AD builds associated data from the parts that identify a row, e.g.
// AD("credential", vaultID, key). Each part is length-prefixed so that
// ("ab","c") and ("a","bc") differ.
func AD(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = fmt.Appendf(out, "%d:%s;", len(p), p)
	}
	return out
}

var wrapAD = AD("agent-vault", "dek-wrap", "v1")

func fromDEK(dek []byte) (*Keyring, error) {
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead, dek: secret.New(dek)}, nil
}

// deriveKEK runs Argon2id under the process-wide bound on concurrent
// runs (package password), waiting for its turn: unlocking and changing
// the master password are rare and must not fail for being busy.
func deriveKEK(pw secret.Bytes, salt []byte, p KDFParams) []byte {
	release, _ := password.Acquire(true)
	defer release()
	return argon2.IDKey(pw.Reveal(), salt, p.Time, p.MemoryKiB, p.Threads, 32)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal returns nonce || ciphertext with a fresh random nonce.
func seal(aead cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, ad), nil
}

func open(aead cipher.AEAD, ciphertext, ad []byte) ([]byte, error) {
	ns := aead.NonceSize()
	if len(ciphertext) < ns+aead.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := aead.Open(nil, ciphertext[:ns], ciphertext[ns:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func sealWith(key, plaintext, ad []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return seal(aead, plaintext, ad)
}

func openWith(key, ciphertext, ad []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return open(aead, ciphertext, ad)
}
