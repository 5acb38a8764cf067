package policy

import "github.com/agent-vault/agent-vault/internal/model"

// CredentialUse describes one credential a service being written would
// send to its host pattern (see docs/services-and-agents.md, "Credential
// host binding").
type CredentialUse struct {
	// Subject is who writes the service. Vault-scoped sessions are agents
	// here, whoever minted them.
	Subject Subject
	// Principal identifies the writer: "user:<id>", "agent:<id>" or
	// "session:<id>".
	Principal string
	// WrittenBy is the principal that wrote the credential's current
	// value; "" when unknown (values from before it was recorded).
	WrittenBy string
	// Bound reports that the credential's binding already covers the
	// service's host pattern.
	Bound bool
}

// BindingDecision is the answer for one CredentialUse.
type BindingDecision struct {
	Decision
	// Widen is set when the write must add the service's host pattern to
	// the credential's binding; ByAgent marks that binding as an agent's
	// (it lapses when the value is replaced).
	Widen, ByAgent bool
}

// DecideCredentialUse answers whether a service write may send a
// credential to the service's host pattern. It assumes the subject may
// manage services at all (ManageServices). A covered pattern needs
// nothing more. Otherwise a user's own write widens the binding (the
// human chose the host), and an agent or vault session may widen it only
// for a value it wrote itself: it can only send itself what it already
// knows. Anything else needs a human, through a proposal.
func DecideCredentialUse(u CredentialUse) BindingDecision {
	isUser := u.Subject.Kind == model.ActorUser
	switch {
	case u.Bound:
		return BindingDecision{Decision: allow()}
	case isUser:
		return BindingDecision{Decision: allow(), Widen: true}
	case u.Subject.Kind == model.ActorAgent && u.Principal != "" && u.WrittenBy == u.Principal:
		return BindingDecision{Decision: allow(), Widen: true, ByAgent: true}
	}
	return BindingDecision{Decision: deny("the credential is not bound to this host, and only a human can send it somewhere new: raise a proposal")}
}
