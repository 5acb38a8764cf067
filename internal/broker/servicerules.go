package broker

import (
	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/service"
)

// checkServiceRules refuses an agent's or a vault session's service write
// (cur → next) that loosens the rules a credential is used under: a
// changed service may not be looser (service.Rules.Widens) than any
// current service with its name, its host pattern or a credential in
// common, nor enabled when such a service is disabled, and a service with
// method or path rules, or a disabled one, may not be removed (which
// would let a looser or an enabled one take its place). Like a credential
// binding, only a human loosens them, directly or by approving a proposal.
// Users' own writes are not limited. See docs/services-and-agents.md.
func checkServiceRules(a Actor, cur, next []service.Service) error {
	if a.IsUser() {
		return nil
	}
	for _, s := range changedServices(cur, next) {
		for _, c := range cur {
			if c.Name != s.Name && c.Pattern != s.Pattern && !sharesKey(c, s) {
				continue
			}
			if rule := s.Rules.Widens(c.Rules); rule != "" {
				return rulesNeedProposal(s, "service %q would loosen the %s rule of service %q", s.Name, rule, c.Name)
			}
			if s.Enabled && !c.Enabled {
				return rulesNeedProposal(s, "service %q would put back in use what disabled service %q stopped", s.Name, c.Name)
			}
		}
	}
	for _, c := range cur {
		ruled := len(c.Rules.Methods) > 0 || c.Rules.HasPathRules()
		if !ruled && c.Enabled {
			continue
		}
		kept := false
		for _, s := range next {
			if s.Name == c.Name {
				kept = true
				break
			}
		}
		switch {
		case kept:
		case ruled:
			return rulesNeedProposal(c, "removing service %q would drop its method and path rules", c.Name)
		default:
			return rulesNeedProposal(c, "removing disabled service %q would let an enabled one take its place", c.Name)
		}
	}
	return nil
}

// sharesKey reports whether two services reference a credential in common.
func sharesKey(a, b service.Service) bool {
	for _, k := range a.ReferencedKeys() {
		for _, l := range b.ReferencedKeys() {
			if k == l {
				return true
			}
		}
	}
	return false
}

// rulesNeedProposal is the 403 for an agent's write that loosens rules.
func rulesNeedProposal(s service.Service, format string, args ...any) error {
	return errs.Forbidden(format+"; only a human can loosen a service's rules: raise a proposal (POST /v1/proposals, or `agent-vault vault proposal create`) for a vault member to approve", args...).
		WithCode("proposal_required").
		WithDetails(&apitype.ProposalHint{Host: s.Pattern.String(), Endpoint: "POST /v1/proposals", SupportedAuthTypes: service.SupportedAuthTypes()})
}
