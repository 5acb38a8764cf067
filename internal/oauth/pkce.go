package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// PKCE (RFC 7636) with the S256 method: the verifier stays on the server,
// the provider sees only its hash in the authorization request and gets
// the verifier itself with the code, from the server, at the token URL.

// NewVerifier returns a fresh code verifier: 32 random bytes in base64url
// without padding (43 characters from the unreserved set).
func NewVerifier() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// ChallengeS256 is the code challenge of a verifier:
// BASE64URL(SHA256(verifier)).
func ChallengeS256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
