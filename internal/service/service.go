package service

import (
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
)

// Service is one validated service of a vault (docs/protocol.md,
// "Services: what the proxy matches").
type Service struct {
	Name          string // slug: 3–64 of [a-z0-9-], no leading, trailing or double hyphen
	Pattern       Pattern
	Enabled       bool
	Auth          Auth
	Substitutions []Substitution
	Rules         Rules // methods, paths and plaintext (rules.go)
	// RedactResponses replaces the service's credential values in
	// responses with a placeholder; on unless the wire form says false.
	RedactResponses bool
}

// FromAPI validates the wire form of a service. prefix is its JSON path
// ("services[2]", or "" for a lone service); every error names the field at
// fault under it ("services[2].auth.token"). The name is required: a caller
// that lets a proposal omit it resolves it (Ambiguous) before calling.
// Defaults are made explicit: enabled nil → true, redact_responses nil →
// true, api-key header →
// Authorization, substitution surfaces → [path, query].
func FromAPI(a apitype.Service, prefix string) (Service, error) {
	if err := model.ValidateSlug(field(prefix, "name"), a.Name); err != nil {
		return Service{}, err
	}
	p, err := parsePatternField(a.Host, field(prefix, "host"))
	if err != nil {
		return Service{}, err
	}
	auth, err := AuthFromAPI(a.Auth, field(prefix, "auth"))
	if err != nil {
		return Service{}, err
	}
	subsPath := field(prefix, "substitutions")
	if len(a.Substitutions) > MaxSubstitutions {
		return Service{}, invalid(subsPath, "a service may declare at most %d substitutions (got %d)", MaxSubstitutions, len(a.Substitutions))
	}
	var subs []Substitution
	for i, as := range a.Substitutions {
		sp := index(subsPath, i)
		s, err := SubstitutionFromAPI(as, sp)
		if err != nil {
			return Service{}, err
		}
		// One placeholder inside another would make the replacement
		// depend on the order the two are applied in.
		for j, prev := range subs {
			switch {
			case prev.Placeholder == s.Placeholder:
				return Service{}, invalid(field(sp, "placeholder"), "placeholder %q is already declared by %s", s.Placeholder, index(subsPath, j))
			case strings.Contains(s.Placeholder, prev.Placeholder), strings.Contains(prev.Placeholder, s.Placeholder):
				return Service{}, invalid(field(sp, "placeholder"), "placeholder %q overlaps placeholder %q of %s; one must not contain the other", s.Placeholder, prev.Placeholder, index(subsPath, j))
			}
		}
		subs = append(subs, s)
	}
	rules, err := RulesFromAPI(a, p, prefix)
	if err != nil {
		return Service{}, err
	}
	enabled := a.Enabled == nil || *a.Enabled
	return Service{
		Name: a.Name, Pattern: p, Enabled: enabled,
		Auth: auth, Substitutions: subs, Rules: rules,
		RedactResponses: a.RedactResponses == nil || *a.RedactResponses,
	}, nil
}

// ToAPI returns the wire form: Host in the joined inline form, Enabled
// always set, RedactResponses only when off (the default is on).
func (s Service) ToAPI() apitype.Service {
	enabled := s.Enabled
	out := apitype.Service{
		Name: s.Name, Host: s.Pattern.String(), Enabled: &enabled, Auth: s.Auth.ToAPI(),
	}
	for _, sub := range s.Substitutions {
		out.Substitutions = append(out.Substitutions, sub.ToAPI())
	}
	s.Rules.toAPI(&out)
	if !s.RedactResponses {
		off := false
		out.RedactResponses = &off
	}
	return out
}

// ReferencedKeys returns every credential key the service references (its
// auth fields, custom header templates and substitutions), sorted and
// without repeats. A write must find each in the vault or the proposal
// (docs/protocol.md, "Auth types").
func (s Service) ReferencedKeys() []string {
	ks := s.Auth.Keys()
	for _, sub := range s.Substitutions {
		ks = append(ks, sub.Key)
	}
	return sortUnique(ks)
}

// ValidateSet checks what only a vault's whole service list can break:
// names are unique, and no two services share a host pattern (the later
// one could never match). Errors name "services[i].name" or
// "services[i].host" of the later duplicate. Each service is assumed to
// have passed FromAPI.
func ValidateSet(services []Service) error {
	names := make(map[string]int, len(services))
	hosts := make(map[Pattern]int, len(services))
	for i, s := range services {
		at := index("services", i)
		if j, dup := names[s.Name]; dup {
			return invalid(field(at, "name"), "name %q is already used by services[%d]; service names are unique in a vault", s.Name, j)
		}
		names[s.Name] = i
		if j, dup := hosts[s.Pattern]; dup {
			return invalid(field(at, "host"), "host pattern %q is already used by services[%d] (%s), which would always win; merge the two or change one pattern", s.Pattern.String(), j, services[j].Name)
		}
		hosts[s.Pattern] = i
	}
	return nil
}
