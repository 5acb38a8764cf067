package broker

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// maxServices bounds one vault's service set.
const maxServices = 500

// loadServices reads and parses a vault's stored service set.
func loadServices(ctx context.Context, st store.Store, vaultID string) ([]service.Service, error) {
	out, _, err := loadServiceSet(ctx, st, vaultID)
	return out, err
}

// loadServiceSet is loadServices with the set's version, which every save
// of the vault's services raises.
func loadServiceSet(ctx context.Context, st store.Store, vaultID string) ([]service.Service, int64, error) {
	set, err := st.Services().Get(ctx, vaultID)
	if err != nil {
		return nil, 0, internal(err, "reading services")
	}
	var raw []apitype.Service
	if err := json.Unmarshal(set.JSON, &raw); err != nil {
		return nil, 0, errs.Internal(err, "decoding stored services")
	}
	out := make([]service.Service, 0, len(raw))
	for i, r := range raw {
		s, err := service.FromAPI(r, servicesField(i))
		if err != nil {
			return nil, 0, errs.Internal(err, "reading a stored service")
		}
		out = append(out, s)
	}
	return out, set.Version, nil
}

// saveServices stores a vault's whole service set.
func (b *Broker) saveServices(ctx context.Context, tx store.Store, vaultID string, svcs []service.Service) error {
	raw := make([]apitype.Service, len(svcs))
	for i, s := range svcs {
		raw[i] = s.ToAPI()
	}
	js, err := json.Marshal(raw)
	if err != nil {
		return errs.Internal(err, "encoding services")
	}
	_, err = tx.Services().Put(ctx, model.ServiceSet{VaultID: vaultID, JSON: js, UpdatedAt: b.now()})
	return internal(err, "saving services")
}

// parseServices validates services from a request, each and as a set.
func parseServices(in []apitype.Service) ([]service.Service, error) {
	if len(in) > maxServices {
		return nil, errs.Invalid("services", "a vault holds at most %d services", maxServices)
	}
	out := make([]service.Service, 0, len(in))
	for i, r := range in {
		s, err := service.FromAPI(r, servicesField(i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := service.ValidateSet(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkKeysExist refuses services that reference keys the vault lacks.
func checkKeysExist(ctx context.Context, tx store.Store, v model.Vault, svcs []service.Service, fieldOf func(i int) string) error {
	have, err := credentialKeys(ctx, tx, v.ID)
	if err != nil {
		return err
	}
	for i, s := range svcs {
		for _, k := range s.ReferencedKeys() {
			if !have[k] {
				return errs.Invalid(fieldOf(i), "service %q references credential %s, which vault %q does not have: set it first with `agent-vault vault credential set %s`", s.Name, k, v.Name, k).WithCode("credential_not_found")
			}
		}
	}
	return nil
}

// referencedKeys maps each key used by a vault's services to one user.
func (b *Broker) referencedKeys(ctx context.Context, st store.Store, vaultID string) (map[string]string, error) {
	svcs, err := loadServices(ctx, st, vaultID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range svcs {
		for _, k := range s.ReferencedKeys() {
			if _, ok := out[k]; !ok {
				out[k] = s.Name
			}
		}
	}
	return out, nil
}

func servicesField(i int) string { return "services[" + strconv.Itoa(i) + "]" }

// ListServices returns a vault's services in declaration order (any member).
func (b *Broker) ListServices(ctx context.Context, a Actor, vault string) (apitype.ServiceList, error) {
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.ViewVault)
	if err != nil {
		return apitype.ServiceList{}, err
	}
	svcs, err := loadServices(ctx, b.st, v.ID)
	if err != nil {
		return apitype.ServiceList{}, err
	}
	out := apitype.ServiceList{Vault: v.Name, Services: make([]apitype.Service, 0, len(svcs))}
	for _, s := range svcs {
		out.Services = append(out.Services, s.ToAPI())
	}
	return out, nil
}

// ReplaceServices replaces a vault's whole service set (member+). With
// dryRun every check runs (including that referenced keys exist and are
// bound) but nothing is written. Services it creates or changes must keep
// to their credentials' bindings, or widen them as bindForServices allows.
func (b *Broker) ReplaceServices(ctx context.Context, a Actor, vault string, in apitype.ServiceList, dryRun bool) (apitype.ServicesReplaced, error) {
	svcs, err := parseServices(in.Services)
	if err != nil {
		return apitype.ServicesReplaced{}, err
	}
	var out apitype.ServicesReplaced
	err = b.tx(ctx, func(tx store.Store) error {
		v, role, err := b.vaultAuthorized(ctx, tx, a, vault, policy.ManageServices)
		if err != nil {
			return err
		}
		if err := checkKeysExist(ctx, tx, v, svcs, servicesField); err != nil {
			return err
		}
		cur, err := loadServices(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		if err := checkServiceRules(a, cur, svcs); err != nil {
			return err
		}
		if err := checkRedactionOptOut(ctx, tx, a, v.ID, svcs); err != nil {
			return err
		}
		if err := b.bindForServices(ctx, tx, a, role, v, changedServices(cur, svcs), dryRun); err != nil {
			return err
		}
		if err := checkPlacements(a, cur, changedServices(cur, svcs)); err != nil {
			return err
		}
		out = apitype.ServicesReplaced{Vault: v.Name, ServicesCount: len(svcs), DryRun: dryRun}
		if dryRun {
			return nil
		}
		return b.recordAfter(ctx, tx, b.saveServices(ctx, tx, v.ID, svcs), with(a.event(trail.ServiceChange, v, serviceNames(svcs)), "replace"))
	})
	return out, err
}

// UpsertServices adds services, replacing those with the same name in place
// (member+), within their credentials' bindings as ReplaceServices.
func (b *Broker) UpsertServices(ctx context.Context, a Actor, vault string, in apitype.ServiceList) (apitype.ServicesUpserted, error) {
	if len(in.Services) == 0 {
		return apitype.ServicesUpserted{}, errs.Invalid("services", "services must hold at least one service")
	}
	add, err := parseServices(in.Services)
	if err != nil {
		return apitype.ServicesUpserted{}, err
	}
	var out apitype.ServicesUpserted
	err = b.tx(ctx, func(tx store.Store) error {
		v, role, err := b.vaultAuthorized(ctx, tx, a, vault, policy.ManageServices)
		if err != nil {
			return err
		}
		if err := checkKeysExist(ctx, tx, v, add, servicesField); err != nil {
			return err
		}
		if err := checkRedactionOptOut(ctx, tx, a, v.ID, add); err != nil {
			return err
		}
		cur, err := loadServices(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		if err := b.bindForServices(ctx, tx, a, role, v, changedServices(cur, add), false); err != nil {
			return err
		}
		if err := checkPlacements(a, cur, changedServices(cur, add)); err != nil {
			return err
		}
		before := slices.Clone(cur)
		names := []string{}
		for _, s := range add {
			replaced := false
			for i := range cur {
				if cur[i].Name == s.Name {
					cur[i], replaced = s, true
				}
			}
			if !replaced {
				cur = append(cur, s)
			}
			names = append(names, s.Name)
		}
		if len(cur) > maxServices {
			return errs.Invalid("services", "a vault holds at most %d services", maxServices)
		}
		if err := service.ValidateSet(cur); err != nil {
			return err
		}
		if err := checkServiceRules(a, before, cur); err != nil {
			return err
		}
		out = apitype.ServicesUpserted{Vault: v.Name, Upserted: names, ServicesCount: len(cur)}
		return b.recordAfter(ctx, tx, b.saveServices(ctx, tx, v.ID, cur), with(a.event(trail.ServiceChange, v, strings.Join(names, ",")), "upsert"))
	})
	return out, err
}

// ClearServices removes every service of a vault (member+).
func (b *Broker) ClearServices(ctx context.Context, a Actor, vault string) (apitype.ServicesCleared, error) {
	var out apitype.ServicesCleared
	err := b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, vault, policy.ManageServices)
		if err != nil {
			return err
		}
		cur, err := loadServices(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		if err := checkServiceRules(a, cur, nil); err != nil {
			return err
		}
		out = apitype.ServicesCleared{Vault: v.Name, Cleared: true}
		return b.recordAfter(ctx, tx, b.saveServices(ctx, tx, v.ID, nil), with(a.event(trail.ServiceChange, v, ""), "clear"))
	})
	return out, err
}

// resolveService finds the one service ref names: 404 when none, 409 with
// the candidates when a bare host names several.
func resolveService(svcs []service.Service, ref string) (int, error) {
	c := service.Ambiguous(svcs, ref)
	switch len(c) {
	case 0:
		return 0, errs.NotFound("service not found for %q: list services with `agent-vault vault service list`", ref)
	case 1:
		return c[0].Index, nil
	}
	cands := make([]apitype.ServiceCandidate, len(c))
	names := make([]string, len(c))
	for i, x := range c {
		cands[i], names[i] = x.ToAPI(), x.Name
	}
	sort.Strings(names)
	return 0, errs.Conflict("multiple services match host %q (%s): retry with a service name", ref, strings.Join(names, ", ")).WithCode("ambiguous_service").WithDetails(cands)
}

// editService runs edit on the service ref names in vault (member+), in
// one transaction, and saves the set edit returns.
func (b *Broker) editService(ctx context.Context, a Actor, vault, ref, what string, edit func(v model.Vault, svcs []service.Service, i int) []service.Service) error {
	return b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, vault, policy.ManageServices)
		if err != nil {
			return err
		}
		svcs, err := loadServices(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		i, err := resolveService(svcs, ref)
		if err != nil {
			return err
		}
		cur := slices.Clone(svcs)
		name := svcs[i].Name
		next := edit(v, svcs, i)
		if err := checkServiceRules(a, cur, next); err != nil {
			return err
		}
		return b.recordAfter(ctx, tx, b.saveServices(ctx, tx, v.ID, next), with(a.event(trail.ServiceChange, v, name), what))
	})
}

// PatchService enables or disables one service (member+).
func (b *Broker) PatchService(ctx context.Context, a Actor, vault, ref string, in apitype.ServicePatch) (apitype.ServicePatched, error) {
	if in.Enabled == nil {
		return apitype.ServicePatched{}, errs.Invalid("enabled", "enabled (true or false) is required")
	}
	var out apitype.ServicePatched
	err := b.editService(ctx, a, vault, ref, "enabled="+strconv.FormatBool(*in.Enabled), func(v model.Vault, svcs []service.Service, i int) []service.Service {
		svcs[i].Enabled = *in.Enabled
		out = apitype.ServicePatched{Vault: v.Name, Name: svcs[i].Name, Host: svcs[i].Pattern.String(), Enabled: *in.Enabled}
		return svcs
	})
	return out, err
}

// RemoveService deletes one service (member+).
func (b *Broker) RemoveService(ctx context.Context, a Actor, vault, ref string) (apitype.ServiceRemoved, error) {
	var out apitype.ServiceRemoved
	err := b.editService(ctx, a, vault, ref, "remove", func(v model.Vault, svcs []service.Service, i int) []service.Service {
		gone := svcs[i]
		svcs = append(svcs[:i], svcs[i+1:]...)
		out = apitype.ServiceRemoved{Vault: v.Name, Removed: gone.Name, RemovedHost: gone.Pattern.String(), ServicesCount: len(svcs)}
		return svcs
	})
	return out, err
}
