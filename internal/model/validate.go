package model

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// DefaultVault is the vault that exists from the first start. It can be
// neither deleted nor renamed.
const DefaultVault = "default"

// Limits on user input.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024 // Argon2 takes any length; this bounds the work per request.
	MaxEmailLen    = 254
	MinNameLen     = 3
	MaxNameLen     = 64
)

var reservedVaultNames = map[string]bool{"users": true, "admin": true}

// ValidateSlug checks a vault or agent name: 3–64 characters of lowercase
// letters, digits and hyphens, no leading, trailing or double hyphen.
func ValidateSlug(field, s string) error {
	switch {
	case s == "":
		return errs.Invalid(field, "%s is required", field)
	case len(s) < MinNameLen || len(s) > MaxNameLen:
		return errs.Invalid(field, "%s must be %d to %d characters long (got %d)", field, MinNameLen, MaxNameLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return errs.Invalid(field, "%s may contain only lowercase letters, digits and hyphens (got %q)", field, s)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return errs.Invalid(field, "%s must not start or end with a hyphen or contain two hyphens in a row (got %q)", field, s)
	}
	return nil
}

// ValidateVaultName checks a vault name: a slug that is not reserved.
func ValidateVaultName(field, s string) error {
	if err := ValidateSlug(field, s); err != nil {
		return err
	}
	if reservedVaultNames[s] {
		return errs.Invalid(field, "%s %q is reserved; choose another name", field, s)
	}
	return nil
}

var credentialKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// ValidateCredentialKey checks a credential key (UPPER_SNAKE_CASE).
func ValidateCredentialKey(field, s string) error {
	if s == "" {
		return errs.Invalid(field, "%s is required", field)
	}
	if len(s) > 128 || !credentialKeyRE.MatchString(s) {
		return errs.Invalid(field, "%s must match ^[A-Z][A-Z0-9_]*$ and be at most 128 characters (got %q)", field, s)
	}
	return nil
}

// NormalizeEmail validates an email address and returns it lowercased.
// Only a bare address is accepted, not a display name.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errs.Invalid(field, "%s is required", field)
	}
	if len(s) > MaxEmailLen {
		return "", errs.Invalid(field, "%s must be at most %d characters", field, MaxEmailLen)
	}
	// ASCII only: Unicode case folding maps distinct addresses (the Kelvin
	// sign, dotted capital I) onto one account.
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "", errs.Invalid(field, "%s must contain only ASCII characters", field)
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", errs.Invalid(field, "%s %q is not a valid email address (expected name@example.com)", field, s)
	}
	return strings.ToLower(s), nil
}

// ValidatePassword checks a new user password's length. Existing passwords
// are never re-validated, only compared.
func ValidatePassword(field, s string) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n < MinPasswordLen:
		return errs.Invalid(field, "%s must be at least %d characters", field, MinPasswordLen)
	case len(s) > MaxPasswordLen:
		return errs.Invalid(field, "%s must be at most %d bytes", field, MaxPasswordLen)
	}
	return nil
}
