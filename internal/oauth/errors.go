package oauth

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrorKind says what went wrong with a token request, and so whether
// trying again later may help.
type ErrorKind uint8

// The kinds of token request failure.
const (
	// ErrConfig: the request could not be made as configured (a bad token
	// URL, a missing client secret). Fix the configuration.
	ErrConfig ErrorKind = iota + 1
	// ErrBlocked: netguard refused the token endpoint's address.
	ErrBlocked
	// ErrUnreachable: no answer (DNS, connect, TLS, timeout). May pass.
	ErrUnreachable
	// ErrRejected: the endpoint refused the grant or the client
	// (invalid_grant, invalid_client…) or redirected. Reconnect or fix.
	ErrRejected
	// ErrUnavailable: the endpoint failed or throttled (5xx, 429, 408).
	// May pass.
	ErrUnavailable
	// ErrMalformed: a success status with an answer we cannot use.
	ErrMalformed
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case ErrConfig:
		return "config"
	case ErrBlocked:
		return "blocked"
	case ErrUnreachable:
		return "unreachable"
	case ErrRejected:
		return "rejected"
	case ErrUnavailable:
		return "unavailable"
	case ErrMalformed:
		return "malformed"
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a failed token request. It never holds a secret: the client
// secret, code, verifier and tokens sent are cut out of anything the
// endpoint said, and transport errors are reduced to their kind.
type Error struct {
	Kind   ErrorKind
	Host   string // the token endpoint's host
	Status int    // the HTTP status, 0 when there was no answer
	// Code is the OAuth error code the endpoint gave ("invalid_grant"),
	// when it gave one in the standard's character set.
	Code string
	// Description is the endpoint's error_description, cleaned of control
	// characters and secrets and capped; may be "".
	Description string
	// Detail is our own short account of a failure without an answer
	// ("connection refused", "the endpoint did not answer in full within
	// 20s"); may be "".
	Detail string
}

// Error describes the failure for a person; it holds no secret.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("token request to ")
	b.WriteString(e.Host)
	b.WriteString(" failed: ")
	switch e.Kind {
	case ErrConfig:
		b.WriteString("bad configuration")
	case ErrBlocked:
		b.WriteString("the address is blocked by the network policy")
	case ErrUnreachable:
		b.WriteString("no answer")
	case ErrRejected:
		b.WriteString("refused")
	case ErrUnavailable:
		b.WriteString("the endpoint failed or is throttling")
	case ErrMalformed:
		b.WriteString("unusable answer")
	default:
		b.WriteString(e.Kind.String())
	}
	if e.Status != 0 {
		b.WriteString(" (HTTP " + strconv.Itoa(e.Status) + ")")
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later unchanged.
func (e *Error) Temporary() bool { return e.Kind == ErrUnreachable || e.Kind == ErrUnavailable }

// Hint says what a person can do about the failure.
func (e *Error) Hint() string {
	switch e.Kind {
	case ErrConfig:
		return "check the token URL, client id, client secret and token_auth_method of the credential"
	case ErrBlocked:
		return "the token URL resolves to a private or reserved address; allow it with AGENT_VAULT_NETWORK_ALLOWLIST if it is meant to be reached"
	case ErrRejected:
		if e.Code == "invalid_client" || e.Code == "unauthorized_client" {
			return "the provider refused the client: check the client id, client secret and token_auth_method"
		}
		return "the provider refused the grant: reconnect the credential (or upload fresh tokens)"
	case ErrUnreachable, ErrUnavailable:
		// The spacing is the broker's oauthRetryAfterFailure.
		return "the provider could not be reached or failed; the vault asks it again on a request at least 30 seconds after this failure"
	case ErrMalformed:
		return "the provider's answer held no usable access token; check the token URL"
	}
	return ""
}

// maxDescription caps an endpoint's error_description.
const maxDescription = 200

// cleanDescription keeps printable text, cuts every secret sent with the
// request, and caps the length.
func cleanDescription(s string, sent [][]byte) string {
	for _, v := range sent {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, string(v), "[redacted]")
		}
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n >= maxDescription {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// cleanCode keeps an OAuth error code only if it is made of the
// characters the standard allows for it, and short.
func cleanCode(s string, sent [][]byte) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return ""
		}
	}
	for _, v := range sent {
		if len(v) >= 4 && bytes.Contains([]byte(s), v) {
			return ""
		}
	}
	return s
}
