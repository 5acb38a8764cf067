package broker

import (
	"context"
	"slices"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
)

// checkSubstitutionSurfaces refuses an agent's or a vault session's
// service write (cur → changed) whose substitutions would write a
// credential on a request surface (path, query, header, body, websocket)
// where no current service covering the same host pattern writes it. A
// substitution puts the value wherever the agent writes the placeholder;
// on a surface the upstream stores (an issue body, a comment) the agent
// could read the value back through a request that injects nothing, so
// the surfaces are a human's choice, like the binding and the rules
// (docs/services-and-agents.md, "Credential host binding"). A value the
// agent wrote itself is exempt: it can only learn what it already knows.
// Users' own writes are not limited.
func (b *Broker) checkSubstitutionSurfaces(ctx context.Context, tx store.Store, a Actor, v model.Vault, cur, changed []service.Service) error {
	if a.IsUser() || !slices.ContainsFunc(changed, func(s service.Service) bool { return len(s.Substitutions) > 0 }) {
		return nil
	}
	ix, err := loadBindings(ctx, tx, v.ID)
	if err != nil {
		return err
	}
	who := a.principal()
	for _, s := range changed {
		for _, sub := range s.Substitutions {
			if who != "" && ix.writtenBy[sub.Key] == who {
				continue
			}
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
