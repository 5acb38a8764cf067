package broker

import (
	"slices"

	"github.com/agent-vault/agent-vault/internal/service"
)

// checkSubstitutionSurfaces refuses an agent's or a vault session's
// service write (cur → changed) whose substitutions would write a
// credential on a request surface (path, query, header, body, websocket)
// where no current service covering the same host pattern writes it. A
// substitution puts the value wherever the agent writes the placeholder;
// on a surface the upstream stores (an issue body, a comment) the agent
// could read the value back through a request that injects nothing, so
// the surfaces are a human's choice, like the binding and the rules
// (docs/services-and-agents.md, "Credential host binding"). Unlike a
// binding, this holds for a value the agent wrote itself too: the
// service outlives the value, and a human who later writes the real value
// back would have it written wherever the agent chose. Users' own writes
// are not limited.
func checkSubstitutionSurfaces(a Actor, cur, changed []service.Service) error {
	if a.IsUser() {
		return nil
	}
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
