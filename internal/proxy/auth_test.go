package proxy

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseProxyAuth(t *testing.T) {
	tok := "av_agt_" + strings.Repeat("ab", 32)
	cases := []struct {
		name, header, token, vault string
		ok                         bool
	}{
		{"basic with vault", "Basic " + b64(tok+":my-vault"), tok, "my-vault", true},
		{"basic without vault", "Basic " + b64(tok), tok, "", true},
		{"basic with empty vault", "Basic " + b64(tok+":"), tok, "", true},
		{"bearer", "Bearer " + tok, tok, "", true},
		{"scheme case-insensitive", "bAsIc " + b64(tok+":v"), tok, "v", true},
		{"extra spaces", "  Bearer   " + tok + "  ", tok, "", true},
		{"empty", "", "", "", false},
		{"no credentials", "Basic", "", "", false},
		{"unknown scheme", "Digest " + tok, "", "", false},
		{"bad base64", "Basic !!!", "", "", false},
		{"empty token", "Basic " + b64(":vault"), "", "", false},
		{"control character", "Basic " + b64(tok+"\x00:v"), "", "", false},
		{"space in vault", "Basic " + b64(tok+":a b"), "", "", false},
		{"newline in bearer", "Bearer a\nb", "", "", false},
		{"oversized", "Bearer " + strings.Repeat("a", maxProxyAuthLen), "", "", false},
		{"colon in bearer", "Bearer " + tok + ":default", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tk, v, err := ParseProxyAuth(c.header)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && (tk != c.token || v != c.vault) {
				t.Fatalf("got (%q, %q), want (%q, %q)", tk, v, c.token, c.vault)
			}
		})
	}
}

// FuzzParseProxyAuth: never panics; accepted credentials are printable and
// a Basic header round-trips.
func FuzzParseProxyAuth(f *testing.F) {
	for _, s := range []string{"Basic " + b64("t:v"), "Bearer x", "", "Basic", "Basic " + b64(":"), "Bearer \x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, vault, err := ParseProxyAuth(h)
		if err != nil {
			return
		}
		if tok == "" || !printable(tok) || !printable(vault) {
			t.Fatalf("accepted %q → (%q, %q)", h, tok, vault)
		}
		if !strings.Contains(vault, ":") {
			t2, v2, err := ParseProxyAuth("Basic " + b64(tok+":"+vault))
			if err != nil || t2 != tok || v2 != vault {
				t.Fatalf("round trip of (%q, %q) = (%q, %q, %v)", tok, vault, t2, v2, err)
			}
		}
	})
}

func TestMatchPath(t *testing.T) {
	cases := map[string]string{
		"":                  "/",
		"/":                 "/",
		"/api/x":            "/api/x",
		"/api/../admin":     "/admin",
		"/api/./x":          "/api/x",
		"/api//x":           "/api/x",
		"/api/x/":           "/api/x/",
		"/../../etc/passwd": "/etc/passwd",
		"api/x":             "/api/x",
		"/api/x/..":         "/api",
	}
	for in, want := range cases {
		if got := matchPath(in); got != want {
			t.Errorf("matchPath(%q) = %q, want %q", in, got, want)
		}
	}
}
