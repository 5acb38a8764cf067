package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Policy decides which addresses may be dialled. The zero Policy blocks
// every range listed in the package documentation.
type Policy struct {
	// AllowPrivate lifts the ClassPrivate blocks (RFC 1918, loopback,
	// link-local, ULA, CGN, 0.0.0.0/8…), as AGENT_VAULT_ALLOW_PRIVATE_RANGES
	// does. It never lifts the cloud metadata blocks, nor the ClassReserved
	// ones (multicast, broadcast, documentation ranges).
	AllowPrivate bool
	// Allow punches explicit holes in the ClassPrivate and ClassReserved
	// blocks, as AGENT_VAULT_NETWORK_ALLOWLIST does. It never unblocks a
	// cloud metadata endpoint. IPv4 ranges must be given as IPv4 prefixes
	// (ParseAllowlist converts IPv4-mapped ones); an IPv4 entry also covers
	// the embedded forms of its addresses.
	Allow []netip.Prefix
}

// Class says which kind of block stopped an address, and so what, if
// anything, can lift it.
type Class uint8

// The classes of block.
const (
	// ClassMetadata is a cloud metadata or credential endpoint: always
	// blocked.
	ClassMetadata Class = iota + 1
	// ClassPrivate is a private-network range: lifted by
	// Policy.AllowPrivate or an allowlist entry.
	ClassPrivate
	// ClassReserved is a range no public upstream can have (multicast,
	// broadcast, documentation), or an address that is not one: lifted
	// only by an allowlist entry.
	ClassReserved
)

// String names the class.
func (c Class) String() string {
	switch c {
	case ClassMetadata:
		return "metadata"
	case ClassPrivate:
		return "private"
	case ClassReserved:
		return "reserved"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// BlockedError reports a destination the Policy refuses. The proxy answers
// it with 403 destination_blocked; find it with errors.As.
type BlockedError struct {
	// Host is the host as requested (a name or an IP literal); empty when
	// the error comes from Policy.Check.
	Host string
	// IP is the address that was refused; the zero Addr when there was no
	// address to check (an empty host).
	IP netip.Addr
	// Reason says why, for a person: "private range 10.0.0.0/8",
	// "IPv4-mapped form of 127.0.0.1 (loopback range 127.0.0.0/8)".
	Reason string
	// Class says which kind of block applied.
	Class Class
}

// Error describes the block, naming host, address and reason.
func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString("destination ")
	ip := ""
	if e.IP.IsValid() {
		ip = e.IP.String()
	}
	switch {
	case e.Host != "" && ip != "" && e.Host != ip:
		b.WriteString(e.Host + " (" + ip + ")")
	case ip != "":
		b.WriteString(ip)
	case e.Host != "":
		b.WriteString(e.Host)
	default:
		b.WriteString(`""`)
	}
	b.WriteString(" is blocked: ")
	b.WriteString(e.Reason)
	return b.String()
}

// rule is one blocked range.
type rule struct {
	prefix netip.Prefix
	class  Class
	label  string
}

func r(cidr string, c Class, label string) rule {
	p := netip.MustParsePrefix(cidr)
	if label == "" {
		label = cidr
	} else {
		label += " " + cidr
	}
	return rule{prefix: p, class: c, label: label}
}

// metadataAddrs are the cloud metadata and credential endpoints; nothing
// unblocks them.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OCI, DigitalOcean, …
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task credentials
	netip.MustParseAddr("169.254.170.23"),  // AWS EKS Pod Identity agent
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud legacy metadata
	netip.MustParseAddr("169.254.0.23"),    // Tencent Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"),    // AWS EKS Pod Identity agent over IPv6
}

const metadataReason = "cloud metadata endpoint"

// v4Rules and v6Rules are the default blocks, most specific first where
// ranges nest, so the first match gives the best label.
var v4Rules = []rule{
	r("0.0.0.0/8", ClassPrivate, "this-network range"),
	r("10.0.0.0/8", ClassPrivate, "private range"),
	r("100.64.0.0/10", ClassPrivate, "carrier-grade NAT range"),
	r("127.0.0.0/8", ClassPrivate, "loopback range"),
	r("169.254.0.0/16", ClassPrivate, "link-local range"),
	r("172.16.0.0/12", ClassPrivate, "private range"),
	r("192.0.0.0/24", ClassPrivate, "IETF protocol assignments range"),
	r("192.0.2.0/24", ClassReserved, "documentation range"),
	r("192.168.0.0/16", ClassPrivate, "private range"),
	r("198.18.0.0/15", ClassPrivate, "benchmarking range"),
	r("198.51.100.0/24", ClassReserved, "documentation range"),
	r("203.0.113.0/24", ClassReserved, "documentation range"),
	r("224.0.0.0/4", ClassReserved, "multicast range"),
	r("255.255.255.255/32", ClassReserved, "limited broadcast address"),
	r("240.0.0.0/4", ClassReserved, "reserved range"),
}

var v6Rules = []rule{
	r("::/128", ClassPrivate, "IPv6 unspecified address"),
	r("::1/128", ClassPrivate, "IPv6 loopback address"),
	r("fe80::/10", ClassPrivate, "IPv6 link-local range"),
	r("fec0::/10", ClassPrivate, "deprecated IPv6 site-local range"),
	r("fc00::/7", ClassPrivate, "IPv6 unique local range"),
	r("2001:2::/48", ClassPrivate, "IPv6 benchmarking range"),
	r("64:ff9b:1::/48", ClassPrivate, "local-use NAT64 range"),
	r("ff00::/8", ClassReserved, "IPv6 multicast range"),
	r("2001:db8::/32", ClassReserved, "IPv6 documentation range"),
	r("3fff::/20", ClassReserved, "IPv6 documentation range"),
	r("100::/64", ClassReserved, "IPv6 discard-only range"),
	r("2001::/32", ClassReserved, "Teredo range"),
}

// embedding is an IPv4 address found inside an IPv6 one.
type embedding struct {
	form string // "IPv4-mapped", "6to4", …
	v4   netip.Addr
	// guess marks one of several candidate decodings (local-use NAT64):
	// checked against the metadata endpoints only, since the range as a
	// whole is a default block.
	guess bool
}

// maxEmbeddings bounds the decodings of one address (local-use NAT64 has
// four candidate positions).
const maxEmbeddings = 4

// embeddedV4 decodes the IPv4 addresses embedded in ip into out and
// returns how many there are. An IPv4 ip has none.
func embeddedV4(ip netip.Addr, out *[maxEmbeddings]embedding) int {
	if !ip.Is6() {
		return 0
	}
	b := ip.As16()
	v4 := func(i, j, k, l int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[j], b[k], b[l]}) }
	zero := func(from, to int) bool {
		for _, x := range b[from:to] {
			if x != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(0, 10) && b[10] == 0xff && b[11] == 0xff: // ::ffff:0:0/96
		out[0] = embedding{form: "IPv4-mapped", v4: v4(12, 13, 14, 15)}
		return 1
	case zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0: // ::ffff:0:0:0/96
		out[0] = embedding{form: "IPv4-translated", v4: v4(12, 13, 14, 15)}
		return 1
	case zero(0, 12): // ::/96
		out[0] = embedding{form: "IPv4-compatible", v4: v4(12, 13, 14, 15)}
		return 1
	case b[0] == 0x20 && b[1] == 0x02: // 2002::/16
		out[0] = embedding{form: "6to4", v4: v4(2, 3, 4, 5)}
		return 1
	case b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b:
		if zero(4, 12) { // 64:ff9b::/96
			out[0] = embedding{form: "NAT64", v4: v4(12, 13, 14, 15)}
			return 1
		}
		if b[4] == 0 && b[5] == 1 { // 64:ff9b:1::/48, RFC 6052 positions (byte 8 is the "u" octet)
			const f = "local-use NAT64"
			out[0] = embedding{f, v4(6, 7, 9, 10), true}   // /48
			out[1] = embedding{f, v4(7, 9, 10, 11), true}  // /56
			out[2] = embedding{f, v4(9, 10, 11, 12), true} // /64
			out[3] = embedding{f, v4(12, 13, 14, 15), true}
			return 4
		}
	}
	return 0
}

func isMetadata(ip netip.Addr) bool {
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

// match returns the first default rule covering ip.
func match(ip netip.Addr) (rule, bool) {
	rules := v6Rules
	if ip.Is4() {
		rules = v4Rules
	}
	for _, ru := range rules {
		if ru.prefix.Contains(ip) {
			return ru, true
		}
	}
	return rule{}, false
}

func (p Policy) allowlisted(ip netip.Addr) bool {
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return true
		}
	}
	return false
}

// defaultBlock returns the default rule blocking ip under p, if any.
func (p Policy) defaultBlock(ip netip.Addr) (rule, bool) {
	ru, ok := match(ip)
	if !ok || (ru.class == ClassPrivate && p.AllowPrivate) || p.allowlisted(ip) {
		return rule{}, false
	}
	return ru, true
}

// Check returns nil when ip may be dialled under p, or a *BlockedError
// (with Host empty) saying why not. A zone is ignored; an invalid Addr is
// blocked. The cloud metadata endpoints, and their embedded forms, are
// blocked first and whatever p says. Then the address itself and each IPv4
// address embedded in it are checked against the default blocks, each
// part passing if AllowPrivate lifts its block or an allowlist entry
// contains it. (Local-use NAT64 addresses are the exception: their
// candidate decodings are checked against the metadata endpoints only,
// the range being blocked whole by default.)
func (p Policy) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &BlockedError{IP: ip, Reason: "not a valid IP address", Class: ClassReserved}
	}
	ip = ip.WithZone("")
	if isMetadata(ip) {
		return &BlockedError{IP: ip, Reason: metadataReason, Class: ClassMetadata}
	}
	var emb [maxEmbeddings]embedding
	n := embeddedV4(ip, &emb)
	for _, e := range emb[:n] {
		if isMetadata(e.v4) {
			return &BlockedError{IP: ip, Reason: fmt.Sprintf("%s form of %s (%s)", e.form, e.v4, metadataReason), Class: ClassMetadata}
		}
	}
	if ru, blocked := p.defaultBlock(ip); blocked {
		return &BlockedError{IP: ip, Reason: ru.label, Class: ru.class}
	}
	for _, e := range emb[:n] {
		if e.guess {
			continue
		}
		if ru, blocked := p.defaultBlock(e.v4); blocked {
			return &BlockedError{IP: ip, Reason: fmt.Sprintf("%s form of %s (%s)", e.form, e.v4, ru.label), Class: ru.class}
		}
	}
	return nil
}

// ParseAllowlist parses AGENT_VAULT_NETWORK_ALLOWLIST: comma-separated
// CIDR prefixes or single IP addresses, with spaces around entries and
// empty entries ignored. An empty string gives an empty list. A single
// address becomes a /32 or /128; an IPv4-mapped IPv6 entry becomes the
// IPv4 one. Rejected, with the entry named in the error: text that is
// neither an address nor a prefix, a prefix with host bits set (10.0.0.1/8
// is ambiguous), an IPv6 zone, and a single cloud metadata endpoint or an
// embedded form of one, which the allowlist cannot unblock (a wider prefix
// containing one is accepted, but the endpoint inside it stays blocked).
func ParseAllowlist(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, field := range strings.Split(s, ",") {
		entry := strings.TrimSpace(field)
		if entry == "" {
			continue
		}
		p, err := parseEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("network allowlist entry %d %q: %w", i+1, entry, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseEntry(entry string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(entry, "/") {
		if strings.Contains(entry, "%") {
			return p, errors.New("IPv6 zones are not allowed")
		}
		var err error
		p, err = netip.ParsePrefix(entry)
		if err != nil {
			return p, errors.New("not a valid CIDR prefix (want e.g. 10.0.0.0/8 or fd00::/8)")
		}
		if m := p.Masked(); m != p {
			return p, fmt.Errorf("host bits are set; did you mean %s, or the single address %s?", m, p.Addr())
		}
	} else {
		ip, err := netip.ParseAddr(entry)
		if err != nil {
			return p, errors.New("not an IP address or CIDR prefix (want e.g. 10.1.2.3 or 10.0.0.0/8)")
		}
		if ip.Zone() != "" {
			return p, errors.New("IPv6 zones are not allowed")
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.IsSingleIP() {
		var be *BlockedError
		if errors.As(Policy{}.Check(p.Addr()), &be) && be.Class == ClassMetadata {
			return p, fmt.Errorf("%s is a %s, which is always blocked; the allowlist cannot unblock it", p.Addr(), be.Reason)
		}
	}
	return p, nil
}
