package service

import "testing"

func TestCovers(t *testing.T) {
	cases := []struct {
		p, q string
		want bool
	}{
		// Plain hosts cover only themselves.
		{"api.example.com", "api.example.com", true},
		{"api.example.com", "evil.example.com", false},
		{"api.example.com", "api.example.com.evil.test", false},
		{"example.com", "api.example.com", false},
		{"api.example.com", "*.example.com", false},
		{"10.0.0.1", "10.0.0.1", true},
		{"10.0.0.1", "10.0.0.2", false},
		{"[2001:db8::1]", "[2001:db8::1]:8443", true},
		// Wildcards: one label below, and themselves.
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "*.api.example.com", false},
		{"*.example.com", "api.example.com.evil.test", false},
		{"*.example.com", "evilexample.com", false},
		{"*.api.example.com", "*.example.com", false},
		// Ports.
		{"api.example.com", "api.example.com:8443", true},
		{"api.example.com:443", "api.example.com:443", true},
		{"api.example.com:443", "api.example.com", false},
		{"api.example.com:443", "api.example.com:8443", false},
		{"*.example.com:443", "api.example.com:443", true},
		{"*.example.com:443", "api.example.com", false},
		// Paths.
		{"api.example.com", "api.example.com/v1/*", true},
		{"api.example.com/v1/*", "api.example.com", false},
		{"api.example.com/v1/*", "api.example.com/v1/*", true},
		{"api.example.com/v1/*", "api.example.com/v1/charges", true},
		{"api.example.com/v1/*", "api.example.com/v1/x/*", true},
		{"api.example.com/v1/*", "api.example.com/v1", false},
		{"api.example.com/v1/*", "api.example.com/v2/*", false},
		{"api.example.com/v1/*", "api.example.com/v*", false},
		{"api.example.com/v1/*", "api.example.com/*", false},
		{"api.example.com/v1", "api.example.com/v1", true},
		{"api.example.com/v1", "api.example.com/v1/*", false},
		{"api.example.com/*/x", "api.example.com/a/x", false}, // sound, not complete
		{"api.example.com/*/x", "api.example.com/*/x", true},
		{"api.example.com/*", "api.example.com/anything/*", true},
		{"*.example.com/v1/*", "api.example.com:8443/v1/x", true},
		{"*.example.com/v1/*", "api.example.com/v2/x", false},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParsePattern(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Covers(q); got != c.want {
			t.Errorf("%q.Covers(%q) = %v, want %v", c.p, c.q, got, c.want)
		}
	}
	if (Pattern{}).Covers(Pattern{}) {
		t.Error("the zero pattern covers nothing")
	}
}

// Soundness over a grid: whenever p covers q, every request q matches is
// matched by p.
func TestCoversIsSound(t *testing.T) {
	pats := []string{
		"api.example.com", "api.example.com:443", "api.example.com:8443", "*.example.com", "*.example.com:443",
		"example.com", "a.b.example.com", "*.b.example.com", "api.example.com/v1/*", "api.example.com/v1",
		"api.example.com/v1/x/*", "api.example.com/*", "api.example.com/*/x", "*.example.com/v1/*", "10.0.0.1", "10.0.0.1:80",
	}
	hosts := []string{"api.example.com", "API.example.com.", "example.com", "a.b.example.com", "x.b.example.com", "evil.test", "10.0.0.1", "apiexample.com"}
	ports := []int{80, 443, 8443}
	paths := []string{"/", "/v1", "/v1/", "/v1/x", "/v1/x/y", "/v2/x", "/a/x", "/x"}
	for _, ps := range pats {
		p, _ := ParsePattern(ps)
		for _, qs := range pats {
			q, _ := ParsePattern(qs)
			if !p.Covers(q) {
				continue
			}
			for _, h := range hosts {
				for _, port := range ports {
					for _, path := range paths {
						if q.Matches(h, port, path) && !p.Matches(h, port, path) {
							t.Errorf("%q covers %q, but %s:%d%s matches only the latter", ps, qs, h, port, path)
						}
					}
				}
			}
		}
	}
}

func TestCoveredBy(t *testing.T) {
	q, _ := ParsePattern("api.example.com")
	if !CoveredBy([]string{"not a pattern", "*.example.com"}, q) {
		t.Error("*.example.com should cover api.example.com")
	}
	if CoveredBy([]string{"not a pattern", "evil.test"}, q) || CoveredBy(nil, q) {
		t.Error("nothing here covers api.example.com")
	}
}
