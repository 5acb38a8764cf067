package broker

import (
	"context"
	"slices"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/policy"
)

// VaultContext tells the actor its role in a vault. Without a role the
// vault is not found, except for owners, who may know every vault exists.
func (b *Broker) VaultContext(ctx context.Context, a Actor, name string) (apitype.VaultContext, error) {
	v, r, err := b.vaultFor(ctx, b.st, a, name)
	if err != nil {
		return apitype.VaultContext{}, err
	}
	if r == "" {
		if seesEveryVault(a) {
			return apitype.VaultContext{}, errs.Forbidden("you hold no role in vault %q: join it first with `agent-vault owner vault join %s`", v.Name, v.Name)
		}
		return apitype.VaultContext{}, vaultNotFound(name)
	}
	return apitype.VaultContext{VaultName: v.Name, VaultRole: string(r)}, nil
}

// CredentialUsage lists the services of a vault that use credential key
// (anyone who may see the vault's services).
func (b *Broker) CredentialUsage(ctx context.Context, a Actor, vault, key string) (apitype.CredentialUsage, error) {
	if key == "" {
		return apitype.CredentialUsage{}, errs.Invalid("key", "the query parameter key is required: ?key=STRIPE_KEY")
	}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.ViewVault)
	if err != nil {
		return apitype.CredentialUsage{}, err
	}
	svcs, err := loadServices(ctx, b.st, v.ID)
	if err != nil {
		return apitype.CredentialUsage{}, err
	}
	out := apitype.CredentialUsage{Key: key, Services: []apitype.CredentialUsageOf{}}
	for _, s := range svcs {
		if slices.Contains(s.ReferencedKeys(), key) {
			out.Services = append(out.Services, apitype.CredentialUsageOf{Name: s.Name, Host: s.Pattern.String()})
		}
	}
	return out, nil
}
