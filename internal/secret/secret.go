// Package secret holds secret bytes (credential values, passwords, keys) in
// a type that cannot be printed, logged or marshalled by accident, compares
// in constant time and can be wiped when no longer needed.
package secret

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

const redacted = "[REDACTED]"

// Bytes is a secret value. Its zero value is the empty secret. Copying a
// Bytes shares the underlying array, so Wipe affects every copy.
//
// The bytes sit behind a pointer so that printing a struct that contains a
// Bytes in an unexported field (where fmt does not call Format) shows an
// address, never the value.
type Bytes struct {
	p *[]byte
}

// New takes ownership of b: the caller must not use b afterwards.
func New(b []byte) Bytes { return Bytes{p: &b} }

// FromString copies s into a new secret. Prefer New where the bytes never
// need to be a string, since the string itself cannot be wiped.
func FromString(s string) Bytes { return New([]byte(s)) }

// Reveal returns the secret bytes. The caller must not keep or log them.
func (s Bytes) Reveal() []byte {
	if s.p == nil {
		return nil
	}
	return *s.p
}

// Len is the secret's length in bytes.
func (s Bytes) Len() int { return len(s.Reveal()) }

// IsEmpty reports whether the secret holds no bytes.
func (s Bytes) IsEmpty() bool { return s.Len() == 0 }

// Equal compares two secrets in time that depends only on their lengths.
func (s Bytes) Equal(o Bytes) bool { return subtle.ConstantTimeCompare(s.Reveal(), o.Reveal()) == 1 }

// Wipe overwrites the secret with zeros.
func (s Bytes) Wipe() { clear(s.Reveal()) }

// String never shows the value.
func (s Bytes) String() string { return redacted }

// GoString never shows the value, even with %#v.
func (s Bytes) GoString() string { return redacted }

// Format never shows the value, whatever the verb.
func (s Bytes) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON never shows the value.
func (s Bytes) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText never shows the value.
func (s Bytes) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue keeps the value out of structured logs.
func (s Bytes) LogValue() slog.Value { return slog.StringValue(redacted) }

var (
	_ fmt.Stringer   = Bytes{}
	_ fmt.Formatter  = Bytes{}
	_ slog.LogValuer = Bytes{}
)
