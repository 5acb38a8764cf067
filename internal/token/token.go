// Package token mints and hashes the bearer tokens of Agent Vault. A token
// is a prefix naming its kind followed by 256 random bits in hex; only its
// SHA-256 is ever stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Token prefixes (docs/security-model.md, "Tokens").
const (
	PrefixSession  = "av_sess_"
	PrefixAgent    = "av_agt_"
	PrefixApproval = "av_appr_"
	PrefixInvite   = "av_uinv_"
	// PrefixOAuthState is the state of an OAuth authorization-code flow,
	// sent to the provider and back (docs/oauth.md).
	PrefixOAuthState = "av_oast_"
)

// New returns prefix followed by 64 hex characters of fresh randomness.
func New(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}

// Hash is the stored form of a token.
func Hash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// HasPrefix reports whether tok looks like a token of the given kind:
// the prefix and exactly 64 lowercase hex characters.
func HasPrefix(tok, prefix string) bool {
	if !strings.HasPrefix(tok, prefix) || len(tok) != len(prefix)+64 {
		return false
	}
	for _, c := range tok[len(prefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ID returns a short random identifier of n bytes in hex, for public ids
// such as a session's.
func ID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
