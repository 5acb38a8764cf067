package broker

import (
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
)

// Who a vault's people are — their email addresses — is kept from the
// proxy role (policy.ViewMemberEmails): its holders are the agents the
// vault serves, and a hostile agent would harvest addresses to phish the
// very humans who approve its proposals. Such viewers get a 403 for the
// member list and see hiddenPerson wherever a proposal names a user.

// hiddenPerson stands for a user's email a viewer may not see.
const hiddenPerson = "a user"

// mayViewPeople reports whether a, with role vr in the vault, may see its
// people's emails.
func mayViewPeople(a Actor, vr model.VaultRole) bool {
	return policy.Decide(a.subject(vr), policy.ViewMemberEmails).Allowed
}

// hideProposalPeople replaces the users' emails a proposal view names: a
// user requester and the decider (always a user).
func hideProposalPeople(p *apitype.Proposal) {
	if p.CreatedByType == string(model.ActorUser) {
		p.CreatedBy = hiddenPerson
	}
	if p.DecidedBy != "" {
		p.DecidedBy = hiddenPerson
	}
}

// hideAgentPeople replaces the users' emails an agent's detail names (its
// owner, its creator) for an agent viewer: agents never learn who the
// instance's people are outside a vault where they hold member or more.
func hideAgentPeople(v *apitype.Agent) {
	for _, f := range []*string{&v.Owner, &v.CreatedBy} {
		if strings.Contains(*f, "@") {
			*f = hiddenPerson
		}
	}
}
