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
