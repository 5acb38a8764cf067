package proxy

import (
	"encoding/base64"
	"errors"
	"strings"
)

// maxProxyAuthLen bounds the Proxy-Authorization header we parse.
const maxProxyAuthLen = 4096

// errProxyAuth is every malformed Proxy-Authorization; the 407 answer does
// not say more, so that probing learns nothing.
var errProxyAuth = errors.New("proxy authentication required")

// ParseProxyAuth reads Proxy-Authorization: "Basic base64(token[:vault])"
// (what HTTPS_PROXY=http://token:vault@host gives) or "Bearer token".
func ParseProxyAuth(h string) (token, vault string, err error) {
	if h == "" || len(h) > maxProxyAuthLen {
		return "", "", errProxyAuth
	}
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", "", errProxyAuth
	}
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token = rest
	case strings.EqualFold(scheme, "Basic"):
		raw, derr := base64.StdEncoding.DecodeString(rest)
		if derr != nil {
			return "", "", errProxyAuth
		}
		token, vault, _ = strings.Cut(string(raw), ":")
	default:
		return "", "", errProxyAuth
	}
	// No token holds a colon: one in a Bearer value is refused, so that
	// both forms read the same credentials.
	if token == "" || strings.Contains(token, ":") || !printable(token) || !printable(vault) {
		return "", "", errProxyAuth
	}
	return token, vault, nil
}

// printable refuses control characters and spaces in credentials.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}
