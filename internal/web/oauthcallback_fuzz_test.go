package web

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzProviderText: whatever a provider (or whoever crafts the callback
// URL) puts in error and error_description, what the page shows is valid
// UTF-8, bounded, and free of control and format characters (no bidi
// override can reorder the page's sentence).
func FuzzProviderText(f *testing.F) {
	for _, s := range []string{"access_denied", "<script>alert(1)</script>", "a\u202eb\u2066c", "x\x00y\r\nz", strings.Repeat("é", 400), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := providerText(s)
		if !utf8.ValidString(out) && utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 from valid input: %q", out)
		}
		if len(out) > maxProviderText+len("…") {
			t.Fatalf("%d bytes shown, more than %d", len(out), maxProviderText)
		}
		for _, c := range out {
			if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
				t.Fatalf("%q shown in %q", c, out)
			}
		}
	})
}
