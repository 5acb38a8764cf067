package model

// LowerASCII lowercases the ASCII letters A-Z and nothing else: the one
// case folding of host names (and of the other protocol tokens compared
// without case). Host names travel as ASCII — an internationalised name
// as its IDNA A-label, xn--… — so there is nothing else to fold, and
// Unicode case mapping would do harm: it maps the Kelvin sign (U+212A) to
// "k" and the Turkish dotted capital I (U+0130) to "i" plus a combining
// dot, so that a look-alike name typed by an agent would fold onto a real
// one in one place and not in another. A non-ASCII byte is left as it is,
// for the host validators to refuse.
func LowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// IsASCII reports whether s holds only ASCII bytes.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
