package proxy

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// canonPath is a request path read the one way the proxy matches it and,
// for path-scoped services, forwards it (docs/proxy.md, "Path scope").
type canonPath struct {
	// path is the decoded path with dot segments and empty segments
	// resolved: what services are matched on.
	path string
	// raw is the same path in its escaped form, resolved the same way:
	// what a path-scoped service's upstream receives. Its decoding is path.
	raw string
	// ambiguous, when set, says why decoders could read the raw path
	// differently (a lenient upstream could resolve it outside the scope
	// that matched): a path-scoped service refuses such a request.
	ambiguous string
}

// canonicalize reads the path of u. A path is ambiguous when an upstream
// that decodes more leniently than the proxy (twice, backslash as slash,
// ";" parameters stripped, overlong UTF-8, trailing dots dropped) could
// resolve it to another path than the proxy did.
func canonicalize(u *url.URL) canonPath {
	decoded := u.Path
	raw := u.EscapedPath()
	c := canonPath{path: matchPath(decoded)}
	if raw == decoded {
		c.raw = c.path // nothing escaped: one cleanup serves both
	} else {
		c.raw = matchPath(raw)
	}
	if c.ambiguous = ambiguity(raw, decoded); c.ambiguous != "" {
		return c
	}
	// Without encoded "/" or ".", the raw and decoded paths have the same
	// segments, so cleaning one mirrors cleaning the other; check anyway.
	if raw != decoded {
		if back, err := url.PathUnescape(c.raw); err != nil || back != c.path {
			c.ambiguous = "the path does not decode to the path it was matched on"
		}
	}
	return c
}

// ambiguity returns why raw (as sent) and decoded (decoded once) could
// mean different paths to different decoders, or "".
func ambiguity(raw, decoded string) string {
	if decoded == "" {
		return ""
	}
	if decoded[0] != '/' {
		return "the path does not start with /"
	}
	switch {
	case encodesSeparator(raw):
		return "the path encodes /, \\ or . (%2F, %5C, %2E); send them unencoded"
	case strings.ContainsRune(decoded, '\\'):
		return "the path holds a backslash, which some servers read as /"
	case strings.ContainsRune(decoded, '%'):
		return "a % survives decoding (double encoding such as %252e), which a server that decodes twice reads differently"
	case !utf8.ValidString(decoded):
		return "the path is not valid UTF-8 (overlong encodings such as %c0%ae read as . or / on some servers)"
	}
	for i := 0; i < len(decoded); i++ {
		if c := decoded[i]; c < 0x20 || c == 0x7f {
			return "the path holds a control character"
		}
	}
	for rest := decoded; rest != ""; {
		seg, after, _ := strings.Cut(rest, "/")
		rest = after
		if name, _, params := strings.Cut(seg, ";"); params {
			if name == "" || name == "." || name == ".." {
				return "a ; parameter sits beside a dot or empty segment (" + seg + "), which servers that strip parameters resolve as a dot segment"
			}
		}
		if seg != "" && (seg[0] == '.' || seg[0] == ' ') && seg != "." && seg != ".." && strings.Trim(seg, ". ") == "" {
			return "a segment of dots and spaces (" + seg + ") reads as a dot segment on servers that trim them"
		}
	}
	return ""
}

// encodesSeparator reports a percent-encoded "/", "\\" or "." in raw.
func encodesSeparator(raw string) bool {
	for i := strings.IndexByte(raw, '%'); i >= 0 && i+2 < len(raw); {
		switch raw[i+1] {
		case '2':
			if c := raw[i+2] | 0x20; c == 'f' || c == 'e' {
				return true
			}
		case '5':
			if raw[i+2]|0x20 == 'c' {
				return true
			}
		}
		j := strings.IndexByte(raw[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}
