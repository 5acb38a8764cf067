package ratelimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// ClientIP returns the address of the client that sent r, for keying
// TierAuth. It is the immediate peer (r.RemoteAddr) unless that peer is in
// a trusted prefix; then X-Forwarded-For is read from the right, across
// every such header, skipping trusted addresses, and the first untrusted
// address is the client. If the header runs out, or holds something that
// is not an address, the left-most trusted address reached is the client:
// everything further left was written by whoever that was, and cannot be
// believed. IPv4-mapped IPv6 addresses are returned as IPv4 and zones are
// dropped. A RemoteAddr that is not an address is returned as it is.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return h
		}
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	client := peer
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		h := xff[i]
		for h != "" {
			elem := h
			if j := strings.LastIndexByte(h, ','); j >= 0 {
				elem, h = h[j+1:], h[:j]
			} else {
				h = ""
			}
			elem = strings.TrimSpace(elem)
			if elem == "" {
				continue
			}
			a, ok := parseAddr(elem)
			if !ok {
				return client.String()
			}
			if !isTrusted(a, trusted) {
				return a.String()
			}
			client = a
		}
	}
	return client.String()
}

// parseAddr parses "ip", "ip:port", "[ip]" or "[ip]:port", unmapping
// IPv4-in-IPv6 and dropping any zone.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
				return netip.Addr{}, false
			}
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses AGENT_VAULT_TRUSTED_PROXIES: addresses and
// CIDR prefixes separated by commas or spaces ("10.0.0.0/8, 127.0.0.1,
// fd00::/8"). A bare address is a single-address prefix; IPv4-mapped IPv6
// forms are converted to IPv4. The empty string trusts nobody.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	var out []netip.Prefix
	for _, f := range fields {
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("ratelimit: trusted proxy %q is not an IP address or CIDR prefix", f)
			}
			if a := p.Addr(); a.Is4In6() {
				if p.Bits() < 96 {
					return nil, fmt.Errorf("ratelimit: trusted proxy %q: an IPv4-mapped prefix needs at least 96 bits", f)
				}
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("ratelimit: trusted proxy %q is not an IP address or CIDR prefix", f)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// IPKey turns a client address from ClientIP into a TierAuth key: an IPv6
// address becomes its /64, since one host commonly holds a whole /64 and
// could otherwise spread its failures over countless keys. IPv4 addresses
// and anything unparseable are returned unchanged.
func IPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// Key joins the parts of a compound key, such as actor type, actor id and
// vault for TierProxy. Each part is length-prefixed, so different part
// lists never collide whatever bytes they hold.
func Key(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 4
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
	}
	return string(b)
}
