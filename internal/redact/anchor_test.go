package redact

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// escapedForms are the kinds of forms a credential is redacted in (the
// proxy adds them): the value, URL-escaped once and twice, and
// JSON-escaped; all share the value's longest run of letters and digits.
var escapedForms = []string{
	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY=",
	"wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY%3D",
	"wJalrXUtnFEMI%2fK7MDENG%2bbPxRfiCYEXAMPLEKEY%3d",
	"wJalrXUtnFEMI%252FK7MDENG%252BbPxRfiCYEXAMPLEKEY%253D",
	"wJalrXUtnFEMI%2FK7MDENG+bPxRfiCYEXAMPLEKEY=",
	"wJalrXUtnFEMI\\/K7MDENG+bPxRfiCYEXAMPLEKEY=",
	"wJalrXUtnFEMI/K7MDENG\\u002BbPxRfiCYEXAMPLEKEY=",
	"sk_live_abcdef", // a value of its own
}

// TestGroupedValuesMatchTheDefinition: values searched for as a group
// give exactly what the reference definition gives, one-shot and as a
// stream in any chunking, on inputs made of the values' own pieces (so
// that the anchor is found often where no whole value is).
func TestGroupedValuesMatchTheDefinition(t *testing.T) {
	s := compile(escapedForms...)
	if len(s.groups) != 1 || len(s.groups[0].members) != len(escapedForms)-1 || string(s.groups[0].anchor) != "bPxRfiCYEXAMPLEKEY" {
		t.Fatalf("groups %+v, want the seven forms in one group anchored on bPxRfiCYEXAMPLEKEY", s.groups)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var pieces []string
	for _, v := range escapedForms {
		for i := 0; i < len(v); i += 5 {
			pieces = append(pieces, v[i:min(len(v), i+5+rng.IntN(20))])
		}
		pieces = append(pieces, v)
	}
	pieces = append(pieces, "bPxRfiCYEXAMPLEKEY", " ", "%", "%25", `\`, "{\"a\":\"")
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		in := b.String()
		want := naive(escapedForms, in)
		if got, _ := s.Bytes(nil, []byte(in)); string(got) != want {
			t.Fatalf("one-shot on %q:\n got %q\nwant %q", in, got, want)
		}
		cut := 1 + rng.IntN(16)
		out, err := io.ReadAll(s.Reader(&chunked{data: []byte(in), cuts: []byte{byte(cut), byte(cut * 3)}}))
		if err != nil || string(out) != want {
			t.Fatalf("reader in pieces of %d on %q:\n got %q\nwant %q", cut, in, out, want)
		}
	}
}

// TestGroupFallsBackOnACommonAnchor: an input full of the anchor but
// holding a whole value only at its end is still redacted right (the
// search hands over to each value's own after many false starts).
func TestGroupFallsBackOnACommonAnchor(t *testing.T) {
	s := compile(escapedForms...)
	in := strings.Repeat("bPxRfiCYEXAMPLEKEY ", 200) + escapedForms[3]
	want := naive(escapedForms, in)
	if got, _ := s.Bytes(nil, []byte(in)); string(got) != want {
		t.Fatalf("one-shot differs from the definition")
	}
	out, _ := io.ReadAll(s.Reader(bytes.NewReader([]byte(in))))
	if string(out) != want || !strings.HasSuffix(string(out), Placeholder) {
		t.Fatalf("reader: %q…", out[max(0, len(out)-60):])
	}
}
