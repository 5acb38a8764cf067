package ca

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/agent-vault/agent-vault/internal/model"
)

// ErrInvalidHost means a host is neither a DNS name nor an IP literal.
var ErrInvalidHost = errors.New("ca: invalid host")

// canonicalHost returns the cache key and SAN form of host: a lowercase DNS
// name without trailing dot, or the canonical text of an IP address (IPv4-
// mapped IPv6 unmapped). Brackets around an IPv6 literal are accepted; a
// port, a zone, a wildcard or any character outside LDH and underscore is
// not.
func canonicalHost(host string) (string, error) {
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
		}
	}
	if a, err := parseIP(h); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("%w: %q has a zone", ErrInvalidHost, host)
		}
		return a.Unmap().String(), nil
	}
	h = model.LowerASCII(strings.TrimSuffix(h, "."))
	if !validDNSName(h) {
		return "", fmt.Errorf("%w: %q", ErrInvalidHost, host)
	}
	return h, nil
}

// hostIP returns the IP of a canonical host, or nil for a DNS name.
func hostIP(canonical string) net.IP {
	a, err := parseIP(canonical)
	if err != nil {
		return nil
	}
	return net.IP(a.AsSlice())
}

var errNotIP = errors.New("not an IP literal")

// parseIP is netip.ParseAddr without its cost (an allocated error) for the
// common case, a DNS name: an IP literal has a colon or only digits and
// dots.
func parseIP(s string) (netip.Addr, error) {
	if !strings.Contains(s, ":") && strings.Trim(s, "0123456789.") != "" {
		return netip.Addr{}, errNotIP
	}
	return netip.ParseAddr(s)
}

// validDNSName reports whether s (lowercase, no trailing dot) is a DNS name
// of LDH labels; underscores are allowed because real hostnames use them.
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// canonicalConstraint validates a permitted DNS domain: a DNS name, or a DNS
// name with a leading dot (subdomains only).
func canonicalConstraint(d string) (string, error) {
	c := model.LowerASCII(strings.TrimSuffix(d, "."))
	if !validDNSName(strings.TrimPrefix(c, ".")) {
		return "", fmt.Errorf("ca: invalid permitted DNS domain %q", d)
	}
	return c, nil
}

// permittedDNS reports whether a canonical DNS name satisfies the permitted
// subtrees, with crypto/x509's semantics: "example.com" matches itself and
// its subdomains, ".example.com" only its subdomains. No constraints permit
// everything.
func permittedDNS(name string, permitted []string) bool {
	if len(permitted) == 0 {
		return true
	}
	for _, c := range permitted {
		c = model.LowerASCII(c)
		if strings.HasPrefix(c, ".") {
			if strings.HasSuffix(name, c) {
				return true
			}
			continue
		}
		if name == c || strings.HasSuffix(name, "."+c) {
			return true
		}
	}
	return false
}
