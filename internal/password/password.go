// Package password hashes and verifies user passwords with Argon2id. Each
// hash carries its own salt and parameters in the PHC string format, so the
// parameters can be raised later without breaking existing accounts.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id cost parameters.
type Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// Default follows RFC 9106's second recommended option.
var Default = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// Hash returns the PHC-encoded Argon2id hash of pw with a fresh salt, or
// ErrBusy when too many hashes are running and waiting (gate.go).
func Hash(pw []byte, p Params) (string, error) {
	release, err := acquire(false)
	if err != nil {
		return "", err
	}
	defer release()
	return hash(pw, p), nil
}

func hash(pw []byte, p Params) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrMalformed means a stored hash could not be parsed.
var ErrMalformed = errors.New("password: malformed hash")

// Verify reports whether pw matches the encoded hash, comparing in constant
// time. A malformed hash never verifies. It fails with ErrBusy, without
// an answer, when too many hashes are running and waiting (gate.go).
func Verify(pw []byte, encoded string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	release, err := acquire(false)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Dummy returns a valid hash of a random password with the given params.
// Checking a login for an unknown email against it costs the same time as
// a wrong password for a real one. It waits for its turn at the gate
// however long the queue is (a process computes it once).
func Dummy(p Params) string {
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	release, _ := acquire(true)
	defer release()
	return hash(pw, p)
}

func decode(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformed
	}
	// Sscanf ignores trailing text: require the canonical form exactly.
	if parts[2] != fmt.Sprintf("v=%d", v) || parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads) {
		return Params{}, nil, nil, ErrMalformed
	}
	if p.Time == 0 || p.Threads == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 || p.Time > 100 {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}
