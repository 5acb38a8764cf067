package service

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A path glob (a host pattern's path, or a paths.allow or paths.deny
// rule) is written percent-encoded and matched decoded, against the
// canonical request path the proxy decoded the same way (docs/proxy.md,
// "Path scope"). So that each glob has one written form and decodes to
// something a request can reach, a new glob may percent-encode only a
// character that cannot be written as itself, in uppercase hex: %20 for
// a space, %C3%A9 for é. CheckPathEscapes says what to write instead of
// any other escape.

// pathGlob is the glob as it matches: percent-decoded. ok is false when
// the glob holds an escape CheckPathEscapes refuses (a glob stored before
// the rule): a host pattern's or allow rule's glob then matches nothing,
// as no decoding of it can be trusted to mean what was meant; a deny rule
// still denies its decoded form.
func pathGlob(g string) (decoded string, ok bool) {
	if strings.IndexByte(g, '%') < 0 {
		return g, true
	}
	d, err := url.PathUnescape(g)
	if err != nil {
		return g, false
	}
	return d, escapeProblem(g) == ""
}

// CheckPathEscapes refuses a service whose path globs hold an escape a
// request could never match, or one with another written form. Errors
// name "<prefix>.host" or "<prefix>.paths.allow[i]"/"paths.deny[i]".
// Stored services are read without it, so a vault saved before the rule
// still loads (its offending globs match nothing, see pathGlob); every new
// or changed service passes it.
func CheckPathEscapes(s Service, prefix string) error {
	if reason := escapeProblem(s.Pattern.Path); reason != "" {
		return invalid(field(prefix, "host"), "%s is not a valid host pattern: %s", quoteInput(s.Pattern.String()), reason)
	}
	for _, list := range []struct {
		name  string
		globs []string
	}{{"allow", s.Rules.Allow}, {"deny", s.Rules.Deny}} {
		for i, g := range list.globs {
			if reason := escapeProblem(g); reason != "" {
				return invalid(index(field(field(prefix, "paths"), list.name), i), "%s is not a valid path glob: %s", quoteInput(g), reason)
			}
		}
	}
	return nil
}

// escapeProblem returns why a path glob's percent-escapes are refused, or
// "". The glob has passed checkPath: every % starts two hex digits.
func escapeProblem(g string) string {
	if strings.IndexByte(g, '%') < 0 {
		return ""
	}
	for i := 0; i+2 < len(g); i++ {
		if g[i] != '%' {
			continue
		}
		esc := g[i : i+3]
		n, err := strconv.ParseUint(g[i+1:i+3], 16, 8)
		if err != nil {
			return "`%` in the path must start a percent-encoding such as %20"
		}
		c := byte(n)
		switch {
		case c == '*':
			return esc + " encodes *; write * for the wildcard (a literal * cannot be matched)"
		case c == '/' || c == '.':
			return esc + " encodes " + string(c) + ", and a path-scoped service refuses every request whose path encodes / or ., so this could never match; write " + string(c) + " itself (paths are matched decoded)"
		case c == '\\':
			return esc + " encodes a backslash, which a path-scoped service refuses in a request path (some servers read it as /), so this could never match"
		case c == '%':
			return esc + " encodes %, and a path-scoped service refuses every request path that still holds a % once decoded (double encoding), so this could never match"
		case c < 0x20 || c == 0x7f:
			return esc + " encodes a control character, which a path-scoped service refuses in a request path, so this could never match"
		case isUnreserved(c) || strings.IndexByte("!$&'()+,;=:@", c) >= 0:
			return esc + " encodes " + strconv.Quote(string(c)) + ", which is written as itself: write " + string(c) + " (paths are matched decoded)"
		case esc != strings.ToUpper(esc):
			return "write percent-escapes in uppercase hex (" + strings.ToUpper(esc) + ", not " + esc + ")"
		}
		i += 2
	}
	if d, err := url.PathUnescape(g); err != nil || !utf8.ValidString(d) {
		return "the escapes do not decode to UTF-8 (write é as %C3%A9), and a path-scoped service refuses request paths that are not UTF-8, so this could never match"
	}
	return ""
}
