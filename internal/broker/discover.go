package broker

import (
	"context"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
)

// AgentVault decides which vault an agent-side request is about: a scoped
// session's own vault (a different hint is refused, never retargeted), else
// the hint (X-Vault, ?vault=), else the actor's only vault.
func (b *Broker) AgentVault(ctx context.Context, a Actor, hint string) (string, error) {
	if a.Scope != nil {
		if hint != "" && hint != a.Scope.VaultName {
			return "", errs.Forbidden("this session is bound to vault %q and cannot be used for vault %q", a.Scope.VaultName, hint)
		}
		return a.Scope.VaultName, nil
	}
	if hint != "" {
		return hint, nil
	}
	var names []string
	if a.Kind == model.ActorAgent {
		gs, err := b.st.AgentGrants().ListByAgent(ctx, a.Agent.ID)
		if err != nil {
			return "", internal(err, "listing the agent's vaults")
		}
		for _, g := range gs {
			names = append(names, g.VaultName)
		}
	} else {
		gs, err := b.st.Grants().ListByUser(ctx, a.User.ID)
		if err != nil {
			return "", internal(err, "listing your vaults")
		}
		for _, g := range gs {
			names = append(names, g.VaultName)
		}
	}
	switch len(names) {
	case 1:
		return names[0], nil
	case 0:
		return "", errs.Forbidden("this token has access to no vault: ask a vault admin to grant one (`agent-vault vault agent add`)")
	}
	return "", errs.Invalid("X-Vault", "this token has access to %d vaults (%v): choose one with the X-Vault header (or ?vault=)", len(names), names).WithCode("vault_required")
}

// Discover tells an agent what its vault brokers: enabled services (name
// and host) and the names of the credentials. Never a value.
func (b *Broker) Discover(ctx context.Context, a Actor, hint string) (apitype.Discover, error) {
	name, err := b.AgentVault(ctx, a, hint)
	if err != nil {
		return apitype.Discover{}, err
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, name, policy.DiscoverVault)
	if err != nil {
		return apitype.Discover{}, err
	}
	svcs, err := loadServices(ctx, b.st, v.ID)
	if err != nil {
		return apitype.Discover{}, err
	}
	out := apitype.Discover{Vault: v.Name, Services: []apitype.ServiceCandidate{}, AvailableCredentials: []string{}}
	for _, s := range svcs {
		if s.Enabled {
			out.Services = append(out.Services, apitype.ServiceCandidate{Name: s.Name, Host: s.Pattern.String()})
		}
	}
	cs, err := b.st.Credentials().List(ctx, v.ID)
	if err != nil {
		return out, internal(err, "listing credentials")
	}
	for _, c := range cs {
		out.AvailableCredentials = append(out.AvailableCredentials, c.Key)
	}
	return out, nil
}
