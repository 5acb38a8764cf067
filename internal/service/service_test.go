package service

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func boolPtr(b bool) *bool { return &b }

func TestFromAPI(t *testing.T) {
	in := apitype.Service{
		Name: "slack-bot", Host: "slack.com/api/*",
		Auth: apitype.ServiceAuth{Type: "bearer", Token: "SLACK_BOT_TOKEN"},
		Substitutions: []apitype.Substitution{
			{Key: "TEAM_ID", Placeholder: "__TEAM__"},
			{Key: "SLACK_BOT_TOKEN", Placeholder: "tok.en", In: []string{"body"}},
		},
	}
	s, err := FromAPI(in, "services[0]")
	if err != nil {
		t.Fatal(err)
	}
	want := Service{
		Name: "slack-bot", Pattern: Pattern{Host: "slack.com", Path: "/api/*"}, Enabled: true,
		Auth: Auth{Type: AuthBearer, Token: "SLACK_BOT_TOKEN"},
		Substitutions: []Substitution{
			{Key: "TEAM_ID", Placeholder: "__TEAM__", In: []Surface{SurfacePath, SurfaceQuery}},
			{Key: "SLACK_BOT_TOKEN", Placeholder: "tok.en", In: []Surface{SurfaceBody}},
		},
		RedactResponses: true,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("FromAPI = %+v\nwant %+v", s, want)
	}
	out := s.ToAPI()
	if out.Host != "slack.com/api/*" || out.Enabled == nil || !*out.Enabled || out.Name != "slack-bot" {
		t.Errorf("ToAPI = %+v", out)
	}
	if !reflect.DeepEqual(out.Substitutions[0].In, []string{"path", "query"}) {
		t.Errorf("ToAPI spells out the default surfaces: %v", out.Substitutions[0].In)
	}
	// Validating the wire form of a service gives the service back.
	again, err := FromAPI(out, "")
	if err != nil || !reflect.DeepEqual(again, s) {
		t.Errorf("round trip: %+v, %v", again, err)
	}
	// And it survives JSON.
	b, _ := json.Marshal(out)
	var decoded apitype.Service
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if again, err := FromAPI(decoded, ""); err != nil || !reflect.DeepEqual(again, s) {
		t.Errorf("JSON round trip: %+v, %v (json %s)", again, err, b)
	}
}

func TestFromAPIEnabled(t *testing.T) {
	base := apitype.Service{Name: "abc", Host: "a.com", Auth: apitype.ServiceAuth{Type: "passthrough"}}
	for _, c := range []struct {
		in   *bool
		want bool
	}{{nil, true}, {boolPtr(true), true}, {boolPtr(false), false}} {
		a := base
		a.Enabled = c.in
		s, err := FromAPI(a, "")
		if err != nil || s.Enabled != c.want {
			t.Errorf("enabled %v: %v, %v", c.in, s.Enabled, err)
		}
		if got := s.ToAPI().Enabled; got == nil || *got != c.want {
			t.Errorf("ToAPI enabled = %v, want %v", got, c.want)
		}
	}
}

// redact_responses defaults to on, round-trips through the wire form and
// JSON, and is written out only when off (stored service sets of older
// versions read back unchanged).
func TestFromAPIRedactResponses(t *testing.T) {
	base := apitype.Service{Name: "abc", Host: "a.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "A_KEY"}}
	for _, c := range []struct {
		in       *bool
		want     bool
		wantJSON string
	}{{nil, true, ""}, {boolPtr(true), true, ""}, {boolPtr(false), false, `"redact_responses":false`}} {
		a := base
		a.RedactResponses = c.in
		s, err := FromAPI(a, "")
		if err != nil || s.RedactResponses != c.want {
			t.Errorf("redact_responses %v: %v, %v", c.in, s.RedactResponses, err)
		}
		b, _ := json.Marshal(s.ToAPI())
		if c.wantJSON == "" && strings.Contains(string(b), "redact_responses") || c.wantJSON != "" && !strings.Contains(string(b), c.wantJSON) {
			t.Errorf("redact_responses %v: JSON %s", c.in, b)
		}
		var decoded apitype.Service
		if err := json.Unmarshal(b, &decoded); err != nil {
			t.Fatal(err)
		}
		if again, err := FromAPI(decoded, ""); err != nil || again.RedactResponses != c.want {
			t.Errorf("redact_responses %v: JSON round trip gives %v, %v", c.in, again.RedactResponses, err)
		}
	}
}

func TestFromAPIRejects(t *testing.T) {
	good := func() apitype.Service {
		return apitype.Service{
			Name: "stripe", Host: "api.stripe.com",
			Auth:          apitype.ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"},
			Substitutions: []apitype.Substitution{{Key: "A", Placeholder: "__A__"}},
		}
	}
	subs := func(ps ...string) []apitype.Substitution {
		var out []apitype.Substitution
		for _, p := range ps {
			out = append(out, apitype.Substitution{Key: "K", Placeholder: p})
		}
		return out
	}
	cases := []struct {
		name   string
		edit   func(*apitype.Service)
		field  string
		reason string
	}{
		{"no name", func(s *apitype.Service) { s.Name = "" }, "name", "required"},
		{"short name", func(s *apitype.Service) { s.Name = "ab" }, "name", "3 to 64"},
		{"long name", func(s *apitype.Service) { s.Name = strings.Repeat("a", 65) }, "name", "3 to 64"},
		{"upper name", func(s *apitype.Service) { s.Name = "Stripe" }, "name", "lowercase"},
		{"dotted name", func(s *apitype.Service) { s.Name = "api.stripe" }, "name", "lowercase letters, digits and hyphens"},
		{"leading hyphen", func(s *apitype.Service) { s.Name = "-stripe" }, "name", "hyphen"},
		{"trailing hyphen", func(s *apitype.Service) { s.Name = "stripe-" }, "name", "hyphen"},
		{"double hyphen", func(s *apitype.Service) { s.Name = "str--ipe" }, "name", "hyphen"},
		{"no host", func(s *apitype.Service) { s.Host = "" }, "host", "required"},
		{"bad host", func(s *apitype.Service) { s.Host = "**.stripe.com" }, "host", "`**` is not supported; use a single `*`"},
		{"scheme", func(s *apitype.Service) { s.Host = "https://api.stripe.com" }, "host", "scheme"},
		{"no auth type", func(s *apitype.Service) { s.Auth = apitype.ServiceAuth{} }, "auth.type", "required"},
		{"auth field", func(s *apitype.Service) { s.Auth.Username = "U" }, "auth.username", "not used by bearer"},
		{"auth token", func(s *apitype.Service) { s.Auth.Token = "x" }, "auth.token", "must name a credential key"},
		{"custom header", func(s *apitype.Service) {
			s.Auth = apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-A": "{{ K"}}
		}, `auth.headers["X-A"]`, "not closed"},
		{"substitution key", func(s *apitype.Service) { s.Substitutions[0].Key = "" }, "substitutions[0].key", "needs key"},
		{"substitution surface", func(s *apitype.Service) {
			s.Substitutions = append(s.Substitutions, apitype.Substitution{Key: "B", Placeholder: "__B__", In: []string{"path", "cookies"}})
		}, "substitutions[1].in[1]", "unknown surface"},
		{"duplicate placeholder", func(s *apitype.Service) { s.Substitutions = subs("__A__", "__B__", "__A__") },
			"substitutions[2].placeholder", "already declared by services[7].substitutions[0]"},
		{"placeholder inside another", func(s *apitype.Service) { s.Substitutions = subs("__TOKEN__", "__TOKEN__2") },
			"substitutions[1].placeholder", "overlaps"},
		{"placeholder around another", func(s *apitype.Service) { s.Substitutions = subs("x.__TOKEN__", "__TOKEN__") },
			"substitutions[1].placeholder", "overlaps"},
		{"too many substitutions", func(s *apitype.Service) {
			s.Substitutions = nil
			for i := 0; i <= MaxSubstitutions; i++ {
				s.Substitutions = append(s.Substitutions, apitype.Substitution{Key: "K", Placeholder: "p-" + strings.Repeat("x", i+1) + "-q"})
			}
		}, "substitutions", "at most 20"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := good()
			c.edit(&a)
			s, err := FromAPI(a, "services[7]")
			if !reflect.DeepEqual(s, Service{}) {
				t.Errorf("returned %+v alongside an error", s)
			}
			checkInvalid(t, err, "services[7]."+c.field, c.reason)
		})
	}
	// Without a prefix the field is the bare member name.
	a := good()
	a.Host = "a*.b.com"
	_, err := FromAPI(a, "")
	checkInvalid(t, err, "host", "whole first label")
	a = good()
	a.Auth.Token = ""
	_, err = FromAPI(a, "")
	checkInvalid(t, err, "auth.token", "bearer auth needs token")
}

func TestValidateSet(t *testing.T) {
	if err := ValidateSet(nil); err != nil {
		t.Errorf("empty set: %v", err)
	}
	ok := svcs(t, "slack-api=slack.com/api/*", "slack-socket=slack.com/api/apps.connections.*", "a=slack.com", "b=slack.com:443", "c=*.slack.com")
	if err := ValidateSet(ok); err != nil {
		t.Errorf("distinct set: %v", err)
	}
	err := ValidateSet(svcs(t, "one=a.com", "two=b.com", "one=c.com"))
	checkInvalid(t, err, "services[2].name", `name "one" is already used by services[0]`)
	err = ValidateSet(svcs(t, "one=a.com", "two=b.com/x/*", "three=b.com/x/*"))
	checkInvalid(t, err, "services[2].host", `"b.com/x/*" is already used by services[1] (two)`)
}

func TestReferencedKeys(t *testing.T) {
	s, err := FromAPI(apitype.Service{
		Name: "multi", Host: "api.example.com",
		Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{
			"Authorization": "Bearer {{ TOKEN }}", "X-Org": "{{ORG_ID}}-{{ TOKEN }}",
		}},
		Substitutions: []apitype.Substitution{{Key: "ACCOUNT", Placeholder: "__ACCOUNT__"}, {Key: "ORG_ID", Placeholder: "__ORG__"}},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.ReferencedKeys(), []string{"ACCOUNT", "ORG_ID", "TOKEN"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ReferencedKeys = %v, want %v", got, want)
	}
	basic := Service{Auth: Auth{Type: AuthBasic, Username: "USER", Password: "PASS"}, Substitutions: []Substitution{{Key: "USER"}}}
	if got, want := basic.ReferencedKeys(), []string{"PASS", "USER"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ReferencedKeys = %v, want %v", got, want)
	}
	if got := (Service{Auth: Auth{Type: AuthPassthrough}}).ReferencedKeys(); got != nil {
		t.Errorf("passthrough references %v", got)
	}
}
