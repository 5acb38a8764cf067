package service

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func rulesService(host string) apitype.Service {
	return apitype.Service{Name: "github", Host: host, Auth: apitype.ServiceAuth{Type: "bearer", Token: "GH_TOKEN"}}
}

func TestRulesRoundTrip(t *testing.T) {
	in := rulesService("api.github.com:8443/repos/*")
	in.AllowPlaintext = true
	in.Methods = []string{"GET", "POST"}
	in.Paths = &apitype.PathRules{Allow: []string{"/repos/acme/*"}, Deny: []string{"/repos/acme/*/hooks*"}}
	s, err := FromAPI(in, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Rules{AllowPlaintext: true, Methods: []string{"GET", "POST"}, Allow: []string{"/repos/acme/*"}, Deny: []string{"/repos/acme/*/hooks*"}}
	if !reflect.DeepEqual(s.Rules, want) {
		t.Fatalf("Rules = %+v, want %+v", s.Rules, want)
	}
	b, _ := json.Marshal(s.ToAPI())
	var back apitype.Service
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, err := FromAPI(back, "")
	if err != nil || !reflect.DeepEqual(again, s) {
		t.Fatalf("JSON round trip: %+v, %v (%s)", again, err, b)
	}
	for _, f := range []string{`"allow_plaintext":true`, `"methods":["GET","POST"]`, `"paths":{"allow":["/repos/acme/*"],"deny":["/repos/acme/*/hooks*"]}`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("wire form %s lacks %s", b, f)
		}
	}
	// No rules: none of the fields is written.
	plain, _ := FromAPI(rulesService("api.github.com"), "")
	b, _ = json.Marshal(plain.ToAPI())
	for _, f := range []string{"allow_plaintext", "methods", "paths"} {
		if strings.Contains(string(b), f) {
			t.Errorf("a service without rules writes %s: %s", f, b)
		}
	}
}

func TestRulesValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*apitype.Service)
		field string
		want  string
	}{
		{"plaintext on port 443", func(s *apitype.Service) { s.Host = "api.github.com:443"; s.AllowPlaintext = true }, "services[3].allow_plaintext", "443"},
		{"lowercase method", func(s *apitype.Service) { s.Methods = []string{"GET", "post"} }, "services[3].methods[1]", `"POST"`},
		{"not a method", func(s *apitype.Service) { s.Methods = []string{"GET /x"} }, "services[3].methods[0]", "not an HTTP method"},
		{"empty method", func(s *apitype.Service) { s.Methods = []string{""} }, "services[3].methods[0]", "empty"},
		{"duplicate method", func(s *apitype.Service) { s.Methods = []string{"GET", "GET"} }, "services[3].methods[1]", "already listed"},
		{"too many methods", func(s *apitype.Service) { s.Methods = make([]string, MaxMethods+1) }, "services[3].methods", "at most"},
		{"allow glob without /", func(s *apitype.Service) { s.Paths = &apitype.PathRules{Allow: []string{"v1/*"}} }, "services[3].paths.allow[0]", "start with /"},
		{"deny glob with **", func(s *apitype.Service) { s.Paths = &apitype.PathRules{Deny: []string{"/ok", "/a/**"}} }, "services[3].paths.deny[1]", "`**`"},
		{"deny glob with regex", func(s *apitype.Service) { s.Paths = &apitype.PathRules{Deny: []string{"/a/(x|y)"}} }, "services[3].paths.deny[0]", "regex"},
		{"encoded wildcard", func(s *apitype.Service) { s.Paths = &apitype.PathRules{Allow: []string{"/a/%2a"}} }, "services[3].paths.allow[0]", "%2A"},
		{"duplicate glob", func(s *apitype.Service) { s.Paths = &apitype.PathRules{Allow: []string{"/a/*", "/a/*"}} }, "services[3].paths.allow[1]", "already listed"},
		{"too many globs", func(s *apitype.Service) {
			s.Paths = &apitype.PathRules{Deny: make([]string, MaxPathRules+1)}
		}, "services[3].paths.deny", "at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := rulesService("api.github.com")
			tc.edit(&s)
			_, err := FromAPI(s, "services[3]")
			checkInvalid(t, err, tc.field, tc.want)
		})
	}
	// Plaintext on other ports, and on no port, is a valid opt-in.
	for _, host := range []string{"internal.corp:8080", "internal.corp"} {
		s := rulesService(host)
		s.AllowPlaintext = true
		if _, err := FromAPI(s, ""); err != nil {
			t.Errorf("%s with allow_plaintext: %v", host, err)
		}
	}
}

// TestRulesCheck is the attacker table for method and path rules: each
// row is a request an agent tries against a rule set.
func TestRulesCheck(t *testing.T) {
	r := Rules{Methods: []string{"GET", "POST"}, Allow: []string{"/repos/*", "/user"}, Deny: []string{"/repos/*/hooks*", "/repos/*/keys*"}}
	cases := []struct {
		method, path string
		rule         string // "" allowed
	}{
		{"GET", "/repos/acme/app", ""},
		{"POST", "/repos/acme/app/issues", ""},
		{"GET", "/user", ""},
		{"DELETE", "/repos/acme/app", "methods"},
		{"get", "/repos/acme/app", "methods"}, // methods are case-sensitive on the wire
		{"HEAD", "/repos/acme/app", "methods"},
		{"GET", "/repos/acme/app/hooks", "paths.deny[0]"},
		{"GET", "/repos/acme/app/HOOKS", "paths.deny[0]"}, // deny ignores case: an upstream may fold it
		{"GET", "/repos/acme/app/Keys/1", "paths.deny[1]"},
		{"GET", "/users", "paths.allow"},
		{"GET", "/", "paths.allow"},
		{"GET", "", "paths.allow"},
		{"GET", "/Repos/acme", "paths.allow"}, // allow is case-sensitive, like the host pattern's path
		{"GET", "/user/", "paths.allow"},
	}
	for _, tc := range cases {
		d := r.Check(tc.method, tc.path)
		if d.Refused != (tc.rule != "") || d.Rule != tc.rule {
			t.Errorf("%s %s: %+v, want rule %q", tc.method, tc.path, d, tc.rule)
		}
		if d.Refused && d.Reason == "" {
			t.Errorf("%s %s: refused without a reason", tc.method, tc.path)
		}
	}
	// Globs match the decoded path, as it was written or encoded.
	enc := Rules{Deny: []string{"/my%20files/*", "/caf%C3%A9*"}}
	for _, p := range []string{"/my files/x", "/café/menu"} {
		if d := enc.Check("GET", p); !d.Refused {
			t.Errorf("deny of an encoded glob let %s through", p)
		}
	}
	if d := (Rules{}).Check("PURGE", "/anything"); d.Refused {
		t.Errorf("no rules refused: %+v", d)
	}
	if d := (Rules{Deny: []string{"/admin*"}}).Check("GET", "/api"); d.Refused {
		t.Errorf("deny-only rules refused an undenied path: %+v", d)
	}
	// A deny glob without a trailing * also holds for the readings of
	// lenient servers: ";" parameters stripped from a segment (Tomcat,
	// Jetty, Spring), trailing dots and spaces trimmed (IIS), a trailing
	// slash dropped (Express, older Spring).
	exact := Rules{Deny: []string{"/v1/admin", "/repos/*/hooks"}}
	for _, p := range []string{"/v1/admin;x", "/v1/admin.", "/v1/admin ", "/v1/admin. ;a=b", "/v1;x/admin", "/repos/a/hooks;x", "/repos/a/hooks%20", "/repos/a./hooks.", "/repos/a/hooks ", "/v1/admin/", "/v1/admin;x/", "/repos/a/hooks/"} {
		if p == "/repos/a/hooks%20" {
			p = "/repos/a/hooks " // the canonical path is decoded
		}
		if d := exact.Check("GET", p); !d.Refused {
			t.Errorf("deny %v let %q through", exact.Deny, p)
		}
	}
	for _, p := range []string{"/v1/administrators", "/v1/admin.json", "/repos/a/hooks2"} {
		if d := exact.Check("GET", p); d.Refused {
			t.Errorf("deny %v refused %q: %+v", exact.Deny, p, d)
		}
	}
}

func TestPathScopedAndInjects(t *testing.T) {
	cases := []struct {
		svc             apitype.Service
		scoped, injects bool
	}{
		{rulesService("api.github.com"), false, true},
		{rulesService("api.github.com/v1/*"), true, true},
		{func() apitype.Service {
			s := rulesService("api.github.com")
			s.Paths = &apitype.PathRules{Deny: []string{"/admin*"}}
			return s
		}(), true, true},
		{func() apitype.Service { s := rulesService("api.github.com"); s.Methods = []string{"GET"}; return s }(), false, true},
		{apitype.Service{Name: "pass", Host: "x.test", Auth: apitype.ServiceAuth{Type: "passthrough"}}, false, false},
		{apitype.Service{Name: "pass", Host: "x.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
			Substitutions: []apitype.Substitution{{Key: "K", Placeholder: "__K__"}}}, false, true},
	}
	for _, tc := range cases {
		s, err := FromAPI(tc.svc, "")
		if err != nil {
			t.Fatal(err)
		}
		if s.PathScoped() != tc.scoped || s.Injects() != tc.injects {
			t.Errorf("%s: PathScoped %v Injects %v, want %v %v", tc.svc.Host, s.PathScoped(), s.Injects(), tc.scoped, tc.injects)
		}
	}
}

// TestRulesWidens: what an agent may not change without a human.
func TestRulesWidens(t *testing.T) {
	base := Rules{Methods: []string{"GET", "POST"}, Allow: []string{"/v1/*"}, Deny: []string{"/v1/admin*"}}
	cases := []struct {
		name       string
		prev, next Rules
		want       string
	}{
		{"unchanged", base, base, ""},
		{"fewer methods", base, Rules{Methods: []string{"GET"}, Allow: base.Allow, Deny: base.Deny}, ""},
		{"more deny", base, Rules{Methods: base.Methods, Allow: base.Allow, Deny: []string{"/v1/admin*", "/v1/keys*"}}, ""},
		{"new service without plaintext", Rules{}, base, ""},
		{"plaintext on", Rules{}, Rules{AllowPlaintext: true}, "allow_plaintext"},
		{"plaintext kept", Rules{AllowPlaintext: true}, Rules{AllowPlaintext: true}, ""},
		{"methods dropped", base, Rules{Allow: base.Allow, Deny: base.Deny}, "methods"},
		{"method added", base, Rules{Methods: []string{"GET", "POST", "DELETE"}, Allow: base.Allow, Deny: base.Deny}, "methods"},
		{"allow dropped", base, Rules{Methods: base.Methods, Deny: base.Deny}, "paths.allow"},
		{"allow glob added", base, Rules{Methods: base.Methods, Allow: []string{"/v1/*", "/v2/*"}, Deny: base.Deny}, "paths.allow"},
		{"allow glob rewritten wider", base, Rules{Methods: base.Methods, Allow: []string{"/*"}, Deny: base.Deny}, "paths.allow"},
		{"deny dropped", base, Rules{Methods: base.Methods, Allow: base.Allow}, "paths.deny"},
		{"deny glob rewritten", base, Rules{Methods: base.Methods, Allow: base.Allow, Deny: []string{"/v1/admin/x*"}}, "paths.deny"},
	}
	for _, tc := range cases {
		if got := tc.next.Widens(tc.prev); got != tc.want {
			t.Errorf("%s: Widens = %q, want %q", tc.name, got, tc.want)
		}
	}
}
