package broker

import (
	"regexp"
	"slices"
	"strings"

	"github.com/agent-vault/agent-vault/internal/service"
)

// Where an agent may make a credential go, within the hosts its binding
// allows (docs/services-and-agents.md, "Credential host binding"): an
// agent's or a vault session's service write may not choose a new
// request surface for a substitution, nor wrap a credential in text of
// its own in a header. Both would let it place the value where an
// upstream keeps it or acts on it (an issue body, a callback URL), to be
// read back through a request that injects nothing. A human chooses
// those, directly or by approving a proposal; users' own writes are not
// limited.

// checkPlacements runs both checks on an agent's write (cur → changed).
func checkPlacements(a Actor, cur, changed []service.Service) error {
	if a.IsUser() {
		return nil
	}
	if err := checkSubstitutionSurfaces(cur, changed); err != nil {
		return err
	}
	return checkHeaderShapes(cur, changed)
}

// plainShape is a header shape that puts nothing of the writer's around a
// value: the value alone, or after one scheme word ("Bearer", "token",
// "Bot").
var plainShape = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9_-]{0,31} )?\{\{[A-Z][A-Z0-9_]*\}\}$`)

// checkHeaderShapes refuses a changed service whose auth writes a
// credential into a header inside text of the writer's own (a custom
// template or an api-key prefix such as "https://collector/?k="), unless
// a current service whose host pattern covers it writes that header in
// that very shape already.
func checkHeaderShapes(cur, changed []service.Service) error {
	for _, s := range changed {
		if s.Auth.Type == service.AuthBasic {
			continue // the proxy writes and encodes the whole value itself
		}
		for h, shape := range s.Auth.HeaderShapes() {
			if plainShape.MatchString(shape) || shapeInUse(cur, s.Pattern, h, shape) {
				continue
			}
			return rulesNeedProposal(s, "service %q would write a credential into header %s inside text of its own (%s)", s.Name, h, shape)
		}
	}
	return nil
}

// shapeInUse reports whether a service of cur whose host pattern covers p
// writes header h in shape already.
func shapeInUse(cur []service.Service, p service.Pattern, h, shape string) bool {
	for _, c := range cur {
		if c.Pattern.Covers(p) && c.Auth.HeaderShapes()[h] == shape {
			return true
		}
	}
	return false
}

// checkSubstitutionSurfaces refuses an agent's or a vault session's
// service write (cur → changed; checkPlacements calls it for agents only)
// whose substitutions would write a
// credential on a request surface (path, query, header, body, websocket)
// where no current service covering the same host pattern writes it. A
// substitution puts the value wherever the agent writes the placeholder;
// on a surface the upstream stores (an issue body, a comment) the agent
// could read the value back through a request that injects nothing, so
// the surfaces are a human's choice, like the binding and the rules
// (docs/services-and-agents.md, "Credential host binding"). Unlike a
// binding, this holds for a value the agent wrote itself too: the
// service outlives the value, and a human who later writes the real value
// back would have it written wherever the agent chose.
func checkSubstitutionSurfaces(cur, changed []service.Service) error {
	for _, s := range changed {
		for _, sub := range s.Substitutions {
			for _, surf := range sub.In {
				if !surfaceInUse(cur, s.Pattern, sub.Key, surf) {
					return rulesNeedProposal(s, "service %q would write credential %s into the request's %s, where no service at %s writes it",
						s.Name, sub.Key, surf, s.Pattern.String())
				}
			}
		}
	}
	return nil
}

// surfaceInUse reports whether a service of cur whose host pattern covers
// p already substitutes key on surf.
func surfaceInUse(cur []service.Service, p service.Pattern, key string, surf service.Surface) bool {
	for _, c := range cur {
		if !c.Pattern.Covers(p) {
			continue
		}
		for _, sub := range c.Substitutions {
			if sub.Key == key && slices.Contains(sub.In, surf) {
				return true
			}
		}
	}
	return false
}

// shapeHoldsKnownKey reports whether shape references a key of keys (a
// credential that exists now, rather than one a proposal creates).
func shapeHoldsKnownKey(shape string, keys map[string]bool) bool {
	for rest := shape; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return false
		}
		if keys[rest[:j]] {
			return true
		}
		rest = rest[j+2:]
	}
}
