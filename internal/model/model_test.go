package model

import "testing"

// Only the exact lower-case names are actions or statuses: no default, no
// case folding, no padding.
func TestParseProposalActionAndStatus(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"set", true}, {"delete", true}, {"", false}, {"Set", false}, {"set ", false}, {"sett", false}, {"remove", false}} {
		if a, ok := ParseProposalAction(c.in); ok != c.ok || (ok && string(a) != c.in) {
			t.Errorf("ParseProposalAction(%q) = %q, %v", c.in, a, ok)
		}
	}
	for _, c := range []struct {
		in string
		ok bool
	}{{"pending", true}, {"applied", true}, {"rejected", true}, {"expired", true}, {"", false}, {"all", false}, {"PENDING", false}} {
		if s, ok := ParseProposalStatus(c.in); ok != c.ok || (ok && string(s) != c.in) {
			t.Errorf("ParseProposalStatus(%q) = %q, %v", c.in, s, ok)
		}
	}
}

// LowerASCII folds A-Z and nothing else: no Unicode letter becomes an
// ASCII one.
func TestLowerASCII(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"API.Example.COM", "api.example.com"}, {"already.lower", "already.lower"}, {"", ""},
		{"\u212Aey", "\u212Aey"}, {"AP\u0130", "ap\u0130"}, {"ap\u0131", "ap\u0131"}, {"\u017Fecure", "\u017Fecure"},
		{"XN--BCHER-KVA", "xn--bcher-kva"}, {"B\u00dcCHER", "b\u00dccher"},
	} {
		if got := LowerASCII(c.in); got != c.want {
			t.Errorf("LowerASCII(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if IsASCII("k\u212A") || !IsASCII("xn--bcher-kva.example") {
		t.Error("IsASCII is wrong")
	}
}

func TestHiddenRune(t *testing.T) {
	for _, r := range "\x00\x1b\r\n\t\x7f\u0085\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" {
		if !HiddenRune(r) {
			t.Errorf("%U is not hidden", r)
		}
	}
	for _, r := range "a Z0~é€\u00a0\u200b\u2028" {
		if HiddenRune(r) {
			t.Errorf("%U is hidden", r)
		}
	}
}
