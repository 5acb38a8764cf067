package service

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/model"
)

// Limits on a host pattern.
const (
	MaxHostLen  = 253  // a DNS name, including a leading "*."
	MaxLabelLen = 63   // one DNS label
	MaxPathLen  = 1024 // the inline path glob, in bytes
)

// Pattern is a parsed host pattern (docs/protocol.md, "Host patterns"):
// host[:port][/path-glob].
//
// The written form is canonical: ParsePattern accepts only strings that
// String prints back byte for byte, and rejects the rest with the reason
// (uppercase host letters, a trailing dot, a leading zero in the port, a
// non-canonical IPv6 address) instead of normalising them silently, so that
// reads return exactly what was written.
type Pattern struct {
	// Host is the lowercase host name, IPv4 address or IPv6 address
	// (without brackets). For a wildcard it is the domain under the "*"
	// label: "github.com" for "*.github.com".
	Host string
	// Wildcard is set for "*.domain": it matches exactly one extra label.
	Wildcard bool
	// Port is 1–65535, or 0 for any port.
	Port int
	// Path is the path glob starting with "/", or "" for any path. "*"
	// matches any run of characters, "/" included.
	Path string
}

// ParsePattern parses and validates a host pattern. The error is an
// *errs.Error of KindInvalid for field "host" that says which rule the
// input broke.
func ParsePattern(s string) (Pattern, error) {
	return parsePatternField(s, "host")
}

// parsePatternField is ParsePattern reporting errors against fieldPath.
func parsePatternField(s, fieldPath string) (Pattern, error) {
	if s == "" {
		return Pattern{}, invalid(fieldPath, "a host pattern is required (e.g. api.example.com, *.example.com or example.com/api/*)")
	}
	p, reason := parsePattern(s)
	if reason != "" {
		return Pattern{}, invalid(fieldPath, "%s is not a valid host pattern: %s", quoteInput(s), reason)
	}
	return p, nil
}

// quoteInput quotes user input for a message, cut to a readable length.
func quoteInput(s string) string {
	const max = 120
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// parsePattern returns the pattern, or the reason s is not one.
func parsePattern(s string) (Pattern, string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f:
			return Pattern{}, "whitespace and control characters are not allowed"
		case c >= 0x80:
			return Pattern{}, "only ASCII is allowed: write an internationalised domain in its xn-- form and percent-encode path characters"
		}
	}
	if i := strings.Index(s, "://"); i >= 0 {
		return Pattern{}, "a scheme (" + strconv.Quote(s[:i+3]) + ") is not allowed; write just the host, e.g. api.example.com"
	}
	if strings.IndexByte(s, '?') >= 0 {
		return Pattern{}, "`?` is not supported: a pattern carries no query string, and `?` is not a wildcard (use `*`)"
	}
	if strings.IndexByte(s, '#') >= 0 {
		return Pattern{}, "a fragment (`#`) is not allowed"
	}
	hostport, path := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		hostport, path = s[:i], s[i:]
	}
	var p Pattern
	if reason := parseHostPort(hostport, &p); reason != "" {
		return Pattern{}, reason
	}
	if path != "" {
		if reason := checkPath(path); reason != "" {
			return Pattern{}, reason
		}
		p.Path = path
	}
	return p, ""
}

// parseHostPort fills p.Host, p.Wildcard and p.Port from host[:port].
func parseHostPort(hostport string, p *Pattern) string {
	if hostport == "" {
		return "the host is missing"
	}
	if strings.IndexByte(hostport, '@') >= 0 {
		return "userinfo (`user@`) is not allowed; write just the host"
	}
	if hostport[0] == '[' {
		return parseIPv6HostPort(hostport, p)
	}
	host := hostport
	if i := strings.IndexByte(hostport, ':'); i >= 0 {
		if strings.Count(hostport, ":") > 1 {
			return "an IPv6 address must be written in brackets, e.g. [2001:db8::1]:8443"
		}
		host = hostport[:i]
		port, reason := parsePort(hostport[i+1:])
		if reason != "" {
			return reason
		}
		p.Port = port
	}
	return parseHost(host, p)
}

// parseIPv6HostPort parses "[addr]" or "[addr]:port".
func parseIPv6HostPort(hostport string, p *Pattern) string {
	end := strings.IndexByte(hostport, ']')
	if end < 0 {
		return "`[` opens an IPv6 address but there is no closing `]`"
	}
	lit := hostport[1:end]
	addr, err := netip.ParseAddr(lit)
	switch {
	case err != nil || !addr.Is6():
		return strconv.Quote(lit) + " in brackets is not an IPv6 address"
	case addr.Zone() != "":
		return "an IPv6 zone (`%...`) is not allowed"
	case addr.String() != lit:
		return "write the IPv6 address in its canonical form [" + addr.String() + "]"
	}
	p.Host = lit
	rest := hostport[end+1:]
	if rest == "" {
		return ""
	}
	if rest[0] != ':' {
		return "unexpected " + strconv.Quote(rest) + " after the IPv6 address; expected :port or a path"
	}
	port, reason := parsePort(rest[1:])
	if reason != "" {
		return reason
	}
	p.Port = port
	return ""
}

// parsePort parses a decimal port 1–65535 without leading zeros.
func parsePort(s string) (int, string) {
	if s == "" {
		return 0, "the port after `:` is empty; omit the colon to match any port"
	}
	if len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, "port " + strconv.Quote(s) + " is not a number from 1 to 65535"
	}
	if s[0] == '0' {
		return 0, "port " + strconv.Quote(s) + " must be a number from 1 to 65535 without leading zeros; omit the port to match any port"
	}
	n, _ := strconv.Atoi(s)
	if n > 65535 {
		return 0, "port " + s + " is out of range; ports go from 1 to 65535"
	}
	return n, ""
}

// regexChars are characters that only appear in a pattern written as a
// regular expression; none of them is valid in a host name or an
// unencoded URL path.
const regexChars = `[]{}|\^`

// parseHost validates a host name, wildcard or IPv4 address.
func parseHost(host string, p *Pattern) string {
	switch {
	case host == "":
		return "the host is missing"
	case host == "*":
		return "a bare `*` would match every host; name a domain, e.g. *.example.com"
	case strings.Contains(host, "**"):
		return "`**` is not supported; use a single `*` as the whole first label, e.g. *.example.com"
	case strings.ContainsAny(host, regexChars+"$()+"):
		return "regex syntax is not supported; the only wildcard is a leading `*.` label"
	}
	if lower := model.LowerASCII(host); lower != host {
		return "the host must be lowercase (write " + strconv.Quote(lower) + ")"
	}
	base := host
	if strings.HasPrefix(host, "*.") {
		p.Wildcard = true
		base = host[2:]
	}
	if strings.IndexByte(base, '*') >= 0 {
		return "`*` must be the whole first label, as in *.example.com; it cannot appear inside or after a label"
	}
	if base == "" {
		return "a domain must follow `*.`"
	}
	if len(host) > MaxHostLen {
		return "the host is " + strconv.Itoa(len(host)) + " characters long; the limit is " + strconv.Itoa(MaxHostLen)
	}
	if strings.HasSuffix(base, ".") {
		return "the host must not end with a dot (write " + strconv.Quote(strings.TrimRight(host, ".")) + ")"
	}
	labels := strings.Split(base, ".")
	for _, l := range labels {
		if reason := checkLabel(l); reason != "" {
			return reason
		}
	}
	if last := labels[len(labels)-1]; isNumericLabel(last) {
		addr, err := netip.ParseAddr(base)
		if err != nil || !addr.Is4() || addr.String() != base {
			return strconv.Quote(base) + " ends in a number but is not an IPv4 address in dotted-decimal form (a.b.c.d, no leading zeros)"
		}
		if p.Wildcard {
			return "a wildcard cannot be combined with an IP address"
		}
	}
	if p.Wildcard && len(labels) < 2 {
		return "`*.` must be followed by at least two labels, e.g. *.example.com; " + strconv.Quote(host) + " would match every host under a top-level domain"
	}
	p.Host = base
	return ""
}

// checkLabel validates one DNS label: 1–63 of [a-z0-9_-], no hyphen at
// either end. Underscores are accepted because real hosts use them.
func checkLabel(l string) string {
	if l == "" {
		return "the host has an empty label (a leading dot or two dots in a row)"
	}
	if len(l) > MaxLabelLen {
		return "label " + quoteInput(l) + " is " + strconv.Itoa(len(l)) + " characters long; the limit is " + strconv.Itoa(MaxLabelLen)
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isLabelChar(c) {
			return "character " + strconv.QuoteRune(rune(c)) + " is not allowed in a host name (letters, digits, hyphens and underscores only)"
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return "label " + strconv.Quote(l) + " must not start or end with a hyphen"
	}
	return ""
}

func isLabelChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// isNumericLabel reports whether a last label reads as a number (decimal,
// or 0x-prefixed hex), the way URL parsers decide a host is an IPv4
// address in disguise.
func isNumericLabel(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		return strings.Trim(l[2:], "0123456789abcdefABCDEF") == ""
	}
	return l != "" && strings.Trim(l, "0123456789") == ""
}

// checkPath validates an inline path glob.
func checkPath(path string) string {
	if len(path) > MaxPathLen {
		return "the path is " + strconv.Itoa(len(path)) + " bytes long; the limit is " + strconv.Itoa(MaxPathLen)
	}
	if strings.Contains(path, "**") {
		return "`**` is not supported; use a single `*` (it already matches across `/`)"
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@/", c) >= 0:
		case c == '%':
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return "`%` in the path must start a percent-encoding such as %2F"
			}
			i += 2
		case strings.IndexByte(regexChars, c) >= 0:
			return "regex syntax (" + strconv.QuoteRune(rune(c)) + ") is not supported; `*` is the only wildcard"
		default:
			return "character " + strconv.QuoteRune(rune(c)) + " is not allowed in a path; percent-encode it"
		}
	}
	if strings.HasSuffix(path, "$") {
		return "a trailing `$` reads as a regex anchor and is not supported; a path glob always matches the whole path"
	}
	return ""
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// String returns the joined inline form host[:port][/path-glob]; for a
// parsed pattern it is exactly the string that was parsed. The zero
// Pattern prints as "".
func (p Pattern) String() string {
	if p.Host == "" {
		return ""
	}
	return p.hostPort() + p.Path
}

// hostPort returns the pattern without its path.
func (p Pattern) hostPort() string {
	var b strings.Builder
	if p.Wildcard {
		b.WriteString("*.")
	}
	if strings.IndexByte(p.Host, ':') >= 0 {
		b.WriteString("[" + p.Host + "]")
	} else {
		b.WriteString(p.Host)
	}
	if p.Port != 0 {
		b.WriteString(":" + strconv.Itoa(p.Port))
	}
	return b.String()
}

// normalizeHost turns a request host into the form patterns hold: ASCII
// letters lowercased, IPv6 brackets removed and the address canonical,
// one trailing dot (a fully qualified name) dropped.
func normalizeHost(host string) string {
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if strings.IndexByte(host, ':') >= 0 {
		if addr, err := netip.ParseAddr(host); err == nil && addr.Zone() == "" {
			return addr.String()
		}
		return host
	}
	return strings.TrimSuffix(model.LowerASCII(host), ".")
}

// MatchesHost reports whether a request to host on port falls under the
// pattern's host and port, whatever the path. host is the bare host name
// (as from url.URL.Hostname; IPv6 brackets are accepted too), compared
// case-insensitively for ASCII letters and ignoring one trailing dot; port
// is the effective port (443 or 80 when the request names none). A
// wildcard matches exactly one extra label: *.github.com matches
// api.github.com but neither github.com nor a.b.github.com.
func (p Pattern) MatchesHost(host string, port int) bool {
	return p.matchesNormalizedHost(normalizeHost(host), port)
}

func (p Pattern) matchesNormalizedHost(h string, port int) bool {
	if p.Host == "" || p.Port != 0 && port != p.Port {
		return false
	}
	if !p.Wildcard {
		return h == p.Host
	}
	n := len(h) - len(p.Host) - 1 // length of the extra label
	if n < 1 || !strings.HasSuffix(h, p.Host) || h[n] != '.' {
		return false
	}
	for i := 0; i < n; i++ {
		if !isLabelChar(h[i]) {
			return false
		}
	}
	return true
}

// CouldMatchHost reports whether some request to host on port, on some
// path, could match the pattern. It is MatchesHost under the name the
// interception decision reads well with (docs/protocol.md, "Unmatched
// hosts"): a CONNECT to a host
// no pattern could match is tunnelled without TLS termination.
func (p Pattern) CouldMatchHost(host string, port int) bool {
	return p.MatchesHost(host, port)
}

// MatchesPath reports whether path matches the pattern's path glob; a
// pattern without a path matches every path. path is the request path as
// sent, without the query string; "" counts as "/". Matching is literal
// and case-sensitive except for "*", which matches any run of characters
// including "/": /api/* matches /api/ and /api/x/y but not /api.
func (p Pattern) MatchesPath(path string) bool {
	if p.Path == "" {
		return true
	}
	if path == "" {
		path = "/"
	}
	return globMatch(p.Path, path)
}

// Matches reports whether a request to host:port/path matches the pattern.
func (p Pattern) Matches(host string, port int, path string) bool {
	return p.MatchesHost(host, port) && p.MatchesPath(path)
}

// LiteralPrefixLen is the number of path characters before the first "*"
// (the whole path when it has none); 0 for a pattern without a path. It
// ranks patterns of one host tier (rule 3 of the match priority).
func (p Pattern) LiteralPrefixLen() int {
	if i := strings.IndexByte(p.Path, '*'); i >= 0 {
		return i
	}
	return len(p.Path)
}

// globMatch matches s against pat, where '*' matches any run of bytes
// ("/" included) and every other byte matches itself. It runs in time
// linear in len(pat)+len(s), whatever either holds: the literal before
// the first star must start s, the literal after the last star must end
// it, and each literal between stars is found at its leftmost place in
// what is left (the leftmost place never loses a match a later one would
// find). A member writes the pattern and an agent the path, so neither
// may make one request cost more than one pass over them.
func globMatch(pat, s string) bool {
	first := strings.IndexByte(pat, '*')
	if first < 0 {
		return pat == s
	}
	if !strings.HasPrefix(s, pat[:first]) {
		return false
	}
	s, pat = s[first:], pat[first+1:]
	last := strings.LastIndexByte(pat, '*')
	suffix := pat[last+1:] // all of pat when it has no other star
	if !strings.HasSuffix(s, suffix) {
		return false
	}
	s = s[:len(s)-len(suffix)]
	if last < 0 {
		return true
	}
	for _, lit := range strings.Split(pat[:last], "*") {
		if lit == "" {
			continue
		}
		i := strings.Index(s, lit)
		if i < 0 {
			return false
		}
		s = s[i+len(lit):]
	}
	return true
}
