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
		{"[2001:db8::1]", "[2001:db8::1]", true},
		{"[2001:db8::1]", "[2001:db8::2]", false},
		// Wildcards: one label below, and themselves.
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "*.api.example.com", false},
		{"*.example.com", "api.example.com.evil.test", false},
		{"*.example.com", "evilexample.com", false},
		{"*.api.example.com", "*.example.com", false},
		// Ports: equal only (a port-less pattern is TLS-only; one with a
		// port may carry plaintext).
		{"api.example.com", "api.example.com:8443", false},
		{"api.example.com", "api.example.com:80", false},
		{"api.example.com:8443", "api.example.com:8443", true},
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
		{"*.example.com/v1/*", "api.example.com/v1/x", true},
		{"*.example.com/v1/*", "api.example.com:8443/v1/x", false},
		// Escapes and dot segments are covered only by themselves.
		{"api.example.com/v1/*", "api.example.com/v1/../admin/*", false},
		{"api.example.com/v1/*", "api.example.com/v1/./x", false},
		{"api.example.com/v1/*", "api.example.com/v1/%2e%2e/admin", false},
		{"api.example.com/v1/*", "api.example.com/v1/a%2fb", false},
		{"api.example.com/v1/%2e%2e/x", "api.example.com/v1/%2e%2e/x", true},
		{"api.example.com", "api.example.com/v1/../admin/*", true},
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

// FuzzCoversIsSound: whenever p covers q, a request q matches is matched
// by p too.
func FuzzCoversIsSound(f *testing.F) {
	f.Add("*.example.com", "api.example.com", "api.example.com", 443, "/x")
	f.Add("api.example.com/v1/*", "api.example.com/v1/x/*", "api.example.com", 443, "/v1/x/y")
	f.Add("api.example.com:8443/*", "api.example.com:8443/a", "API.example.com.", 8443, "/a")
	f.Add("*.example.com/a*", "*.example.com/ab*c", "x.example.com", 1, "/abzc")
	f.Fuzz(func(t *testing.T, ps, qs, host string, port int, path string) {
		p, err := ParsePattern(ps)
		if err != nil {
			return
		}
		q, err := ParsePattern(qs)
		if err != nil || !p.Covers(q) {
			return
		}
		if q.Matches(host, port, path) && !p.Matches(host, port, path) {
			t.Fatalf("%q covers %q, but %s:%d%s matches only the latter", ps, qs, host, port, path)
		}
	})
}
