package service

import (
	"fmt"
	"reflect"
	"testing"
)

// svcs builds enabled services named s0, s1, … (or by "name=pattern").
func svcs(t testing.TB, patterns ...string) []Service {
	t.Helper()
	out := make([]Service, len(patterns))
	for i, p := range patterns {
		name := fmt.Sprintf("svc%d", i)
		for j := 0; j < len(p); j++ {
			if p[j] == '=' {
				name, p = p[:j], p[j+1:]
				break
			}
		}
		out[i] = Service{Name: name, Pattern: mustPattern(t, p), Enabled: true, Auth: Auth{Type: AuthPassthrough}}
	}
	return out
}

// winner returns the name of the matched service, or "" for none.
func winner(services []Service, host string, port int, path string) string {
	r := Match(services, host, port, path)
	if !r.Matched {
		return ""
	}
	return services[r.Index].Name
}

func TestMatchPriority(t *testing.T) {
	cases := []struct {
		rule     string
		patterns []string // "name=pattern"
		host     string
		port     int
		path     string
		want     string
	}{
		// Rule 1: exact beats wildcard, even against a port and a long path.
		{"exact beats wildcard", []string{"wild=*.github.com:443/repos/*", "exact=api.github.com"}, "api.github.com", 443, "/repos/x", "exact"},
		{"exact beats wildcard (reversed)", []string{"exact=api.github.com", "wild=*.github.com:443/repos/*"}, "api.github.com", 443, "/repos/x", "exact"},
		{"wildcard when the exact host differs", []string{"exact=github.com", "wild=*.github.com"}, "api.github.com", 443, "/", "wild"},
		// Rule 2: within a tier, a specific port beats any port, even
		// against a longer path.
		{"port beats any-port (exact tier)", []string{"path=h.com/api/v1/*", "port=h.com:443"}, "h.com", 443, "/api/v1/x", "port"},
		{"port beats any-port (wildcard tier)", []string{"path=*.g.com/x/*", "port=*.g.com:443"}, "a.g.com", 443, "/x/y", "port"},
		{"any-port when the port differs", []string{"any=h.com/api/v1/*", "port=h.com:8443"}, "h.com", 443, "/api/v1/x", "any"},
		// Rule 3: the longest literal prefix.
		{"longer prefix", []string{"short=h.com/api/*", "long=h.com/api/v1/*"}, "h.com", 443, "/api/v1/x", "long"},
		{"longer prefix (reversed)", []string{"long=h.com/api/v1/*", "short=h.com/api/*"}, "h.com", 443, "/api/v1/x", "long"},
		{"a path beats no path", []string{"nopath=h.com", "slash=h.com/*"}, "h.com", 443, "/x", "slash"},
		{"exact path counts its whole length", []string{"glob=h.com/v1/*", "exact=h.com/v1/charges"}, "h.com", 443, "/v1/charges", "exact"},
		{"longer prefix within the port tier", []string{"short=h.com:443/a*", "long=h.com:443/ab*"}, "h.com", 443, "/abc", "long"},
		{"longer prefix within the wildcard tier", []string{"short=*.g.com/a*", "long=*.g.com/ab*"}, "x.g.com", 443, "/abc", "long"},
		{"shorter prefix when the longer does not match", []string{"short=h.com/api/*", "long=h.com/api/v1/*"}, "h.com", 443, "/api/v2/x", "short"},
		// Rule 4: declaration order on a full tie.
		{"first declared on a tie", []string{"first=h.com/api/*", "second=h.com/api/*x"}, "h.com", 443, "/api/yx", "first"},
		{"first declared on a tie (reversed)", []string{"second=h.com/api/*x", "first=h.com/api/*"}, "h.com", 443, "/api/yx", "second"},
		{"first declared among wildcards", []string{"a=*.g.com/x*", "b=*.g.com/x*y"}, "q.g.com", 443, "/xy", "a"},
		// No match.
		{"no service for the host", []string{"a=h.com"}, "other.com", 443, "/", ""},
		{"no service for the path", []string{"a=h.com/api/*"}, "h.com", 443, "/web", ""},
		{"no service for the port", []string{"a=h.com:8443"}, "h.com", 443, "/", ""},
		{"empty set", nil, "h.com", 443, "/", ""},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			if got := winner(svcs(t, c.patterns...), c.host, c.port, c.path); got != c.want {
				t.Errorf("matched %q, want %q", got, c.want)
			}
		})
	}
}

func TestMatchSlackExample(t *testing.T) {
	for _, order := range [][]string{
		{"slack-api=slack.com/api/*", "slack-socket=slack.com/api/apps.connections.*"},
		{"slack-socket=slack.com/api/apps.connections.*", "slack-api=slack.com/api/*"},
	} {
		s := svcs(t, order...)
		for path, want := range map[string]string{
			"/api/apps.connections.open": "slack-socket",
			"/api/chat.postMessage":      "slack-api",
			"/api/apps.connections":      "slack-api", // no trailing "." so the socket glob does not match
			"/oauth/v2/authorize":        "",
		} {
			if got := winner(s, "slack.com", 443, path); got != want {
				t.Errorf("order %v, %s: matched %q, want %q", order, path, got, want)
			}
		}
	}
}

// TestMatchIndependentOfOrder checks, on a set with no two patterns of
// equal rank, that every permutation picks the same service for many
// requests: only rule 4 may depend on order.
func TestMatchIndependentOfOrder(t *testing.T) {
	base := []string{
		"a=*.ex.com", "b=*.ex.com:443", "c=*.ex.com/api/*", "d=api.ex.com",
		"e=api.ex.com:443/v1/*", "f=api.ex.com/v1/x/*",
	}
	requests := []struct {
		host string
		port int
		path string
	}{
		{"api.ex.com", 443, "/v1/x/y"}, {"api.ex.com", 8443, "/v1/x/y"}, {"api.ex.com", 443, "/api/z"},
		{"api.ex.com", 80, "/"}, {"www.ex.com", 443, "/api/1"}, {"www.ex.com", 80, "/api/1"},
		{"www.ex.com", 80, "/"}, {"ex.com", 443, "/"},
	}
	want := make([]string, len(requests))
	for i, r := range requests {
		want[i] = winner(svcs(t, base...), r.host, r.port, r.path)
	}
	if !reflect.DeepEqual(want, []string{"e", "f", "d", "d", "b", "c", "a", ""}) {
		t.Fatalf("winners in declaration order = %v", want)
	}
	perms := 0
	permute(base, 0, func(p []string) {
		perms++
		s := svcs(t, p...)
		for i, r := range requests {
			if got := winner(s, r.host, r.port, r.path); got != want[i] {
				t.Errorf("order %v, request %+v: matched %q, want %q", p, r, got, want[i])
			}
		}
	})
	if perms != 720 {
		t.Fatalf("%d permutations", perms)
	}
}

func permute(xs []string, k int, f func([]string)) {
	if k == len(xs) {
		f(xs)
		return
	}
	for i := k; i < len(xs); i++ {
		xs[k], xs[i] = xs[i], xs[k]
		permute(xs, k+1, f)
		xs[k], xs[i] = xs[i], xs[k]
	}
}

func TestMatchDisabled(t *testing.T) {
	s := svcs(t, "slack-api=slack.com/api/*", "slack-socket=slack.com/api/apps.connections.*")
	s[1].Enabled = false
	r := Match(s, "slack.com", 443, "/api/apps.connections.open")
	if !r.Matched || r.Index != 1 || !r.Disabled {
		t.Errorf("disabled best match: %+v; want it reported as disabled, not replaced by slack-api", r)
	}
	r = Match(s, "slack.com", 443, "/api/chat.postMessage")
	if !r.Matched || r.Index != 0 || r.Disabled {
		t.Errorf("enabled match: %+v", r)
	}
	if r := Match(s, "x.com", 443, "/"); r != (Result{}) {
		t.Errorf("no match: %+v, want the zero Result", r)
	}
}

func TestMatchNormalisesTheRequestHost(t *testing.T) {
	s := svcs(t, "a=api.stripe.com", "b=[2001:db8::1]")
	for _, h := range []string{"API.STRIPE.COM", "api.stripe.com."} {
		if got := winner(s, h, 443, "/"); got != "a" {
			t.Errorf("%q matched %q", h, got)
		}
	}
	if got := winner(s, "[2001:DB8::1]", 443, "/"); got != "b" {
		t.Errorf("bracketed IPv6 matched %q", got)
	}
}

func TestCouldMatch(t *testing.T) {
	s := svcs(t, "slack-api=slack.com/api/*", "gh=*.github.com", "corp=internal.corp:3000/x")
	s[1].Enabled = false
	cases := []struct {
		host string
		port int
		want bool
	}{
		{"slack.com", 443, true}, // some path could match
		{"api.github.com", 443, true},
		{"internal.corp", 3000, true},
		{"internal.corp", 443, false},
		{"github.com", 443, false},
		{"example.com", 443, false},
	}
	for _, c := range cases {
		if got := CouldMatch(s, c.host, c.port); got != c.want {
			t.Errorf("CouldMatch(%q, %d) = %v, want %v", c.host, c.port, got, c.want)
		}
	}
	if CouldMatch(nil, "slack.com", 443) {
		t.Error("an empty set could match")
	}
}

func TestAmbiguous(t *testing.T) {
	s := svcs(t,
		"slack-api=slack.com/api/*",
		"slack-socket=slack.com/api/apps.connections.*",
		"stripe=api.stripe.com",
		"gh=*.github.com",
		"corp-a=internal.corp:3000",
		"corp-b=internal.corp:4000/x/*",
		"localhost=example.org",
		"local=localhost",
		"root=root.example",
		"root-api=root.example/api/*",
	)
	cases := []struct {
		ref  string
		want []string
	}{
		{"stripe", []string{"stripe"}},                       // by name
		{"api.stripe.com", []string{"stripe"}},               // by host
		{"slack.com", []string{"slack-api", "slack-socket"}}, // ambiguous
		{"slack.com/api/*", []string{"slack-api"}},           // joined form
		{"slack.com/api/apps.connections.*", []string{"slack-socket"}},
		{"slack.com/api/x", nil}, // a path must be exact
		{"*.github.com", []string{"gh"}},
		{"api.github.com", nil}, // not by what a wildcard matches
		{"github.com", nil},
		{"internal.corp", []string{"corp-a", "corp-b"}},
		{"internal.corp:3000", []string{"corp-a"}},
		{"internal.corp:4000", []string{"corp-b"}},
		{"internal.corp:5000", nil},
		{"localhost", []string{"localhost"}}, // a name wins over a host
		{"root.example", []string{"root"}},   // the exact joined form wins over the host part
		{"", nil},
		{"nope", nil},
		{"https://api.stripe.com", nil},
	}
	for _, c := range cases {
		got := Ambiguous(s, c.ref)
		var names []string
		for _, cand := range got {
			names = append(names, cand.Name)
			if s[cand.Index].Name != cand.Name || s[cand.Index].Pattern.String() != cand.Host {
				t.Errorf("%q: candidate %+v does not describe services[%d]", c.ref, cand, cand.Index)
			}
		}
		if !reflect.DeepEqual(names, c.want) {
			t.Errorf("Ambiguous(%q) = %v, want %v", c.ref, names, c.want)
		}
	}
	c := Ambiguous(s, "slack.com")[1].ToAPI()
	if c.Name != "slack-socket" || c.Host != "slack.com/api/apps.connections.*" {
		t.Errorf("ToAPI = %+v", c)
	}
}
