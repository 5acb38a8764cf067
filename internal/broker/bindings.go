package broker

import (
	"context"
	"errors"
	"reflect"
	"slices"
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

// Credential host binding: each credential carries the host patterns it
// may be sent to. Users widen it (directly, by saving a service, or by
// approving a proposal); agents and vault sessions may only use what is
// bound, except for values they wrote themselves. The proxy injects a
// credential only into a service its binding covers. See
// docs/services-and-agents.md.

// Limits on one bind or unbind request.
const maxBindHosts = 50

// principal identifies an actor as the writer of a value or a binding:
// "user:<id>" for a user's login session, "agent:<id>" for an agent's
// token or a vault session it minted (the agent could mint another one
// any time), "session:<id>" for a vault session a user minted, which is
// never its user.
func (a Actor) principal() string {
	switch {
	case a.Scope != nil && a.Scope.AgentID != "":
		return "agent:" + a.Scope.AgentID
	case a.Scope != nil:
		return "session:" + a.Scope.ID
	case a.Kind == model.ActorAgent:
		return "agent:" + a.Agent.ID
	}
	return "user:" + a.User.ID
}

// writtenByAgent reports a value written by an agent or a vault session.
func writtenByAgent(principal string) bool {
	return principal != "" && !strings.HasPrefix(principal, "user:") && !strings.HasPrefix(principal, "proposal:")
}

// bindingIndex is a vault's bindings and value writers, by key.
type bindingIndex struct {
	patterns  map[string][]string // key → bound patterns
	byAgent   map[string][]string // key → the patterns among them agents bound
	writtenBy map[string]string   // key → principal of the current value
}

// loadBindingPatterns reads a vault's bindings (writers left empty).
func loadBindingPatterns(ctx context.Context, st store.Store, vaultID string) (bindingIndex, error) {
	ix := bindingIndex{patterns: map[string][]string{}, byAgent: map[string][]string{}, writtenBy: map[string]string{}}
	bs, err := st.Credentials().Bindings(ctx, vaultID)
	if err != nil {
		return ix, internal(err, "reading credential bindings")
	}
	for _, b := range bs {
		ix.patterns[b.Key] = append(ix.patterns[b.Key], b.Pattern)
		if b.ByAgent {
			ix.byAgent[b.Key] = append(ix.byAgent[b.Key], b.Pattern)
		}
	}
	return ix, nil
}

// loadBindings reads a vault's bindings and value writers.
func loadBindings(ctx context.Context, st store.Store, vaultID string) (bindingIndex, error) {
	ix, err := loadBindingPatterns(ctx, st, vaultID)
	if err != nil {
		return ix, err
	}
	cs, err := st.Credentials().List(ctx, vaultID)
	if err != nil {
		return ix, internal(err, "listing credentials")
	}
	for _, c := range cs {
		ix.writtenBy[c.Key] = c.WrittenBy
	}
	return ix, nil
}

// covers reports whether key's binding covers pattern p.
func (ix bindingIndex) covers(key string, p service.Pattern) bool {
	return service.CoveredBy(ix.patterns[key], p)
}

// CredentialBindings returns the binding of every credential of the vault
// with id vaultID, key → host patterns (in one query); test a pattern
// against one with service.CoveredBy.
func CredentialBindings(ctx context.Context, st store.Store, vaultID string) (map[string][]string, error) {
	ix, err := loadBindingPatterns(ctx, st, vaultID)
	return ix.patterns, err
}

// changedServices are the services of next that cur lacks or holds
// differently (by name): what a write creates or changes.
func changedServices(cur, next []service.Service) []service.Service {
	var out []service.Service
	for _, s := range next {
		i := slices.IndexFunc(cur, func(c service.Service) bool { return c.Name == s.Name })
		if i < 0 || !reflect.DeepEqual(cur[i], s) {
			out = append(out, s)
		}
	}
	return out
}

// errNotBound is the answer to an agent's service write that would send a
// credential somewhere it is not bound.
func errNotBound(svc, key string, p service.Pattern) error {
	return errs.Forbidden("service %q would send credential %s to %s, which %s is not bound to; only a human can allow that: raise a proposal (POST /v1/proposals, or `agent-vault vault proposal create`) for a vault member to approve",
		svc, key, p.String(), key).WithCode("credential_not_bound").
		WithDetails(&apitype.ProposalHint{Host: p.String(), Endpoint: "POST /v1/proposals", SupportedAuthTypes: service.SupportedAuthTypes()})
}

// bindForServices checks that actor a (with role in v) may send every
// credential the changed services reference to their host patterns, and
// adds the bindings that allows (policy.DecideCredentialUse). With dryRun
// it only checks.
func (b *Broker) bindForServices(ctx context.Context, tx store.Store, a Actor, role model.VaultRole, v model.Vault, changed []service.Service, dryRun bool) error {
	if len(changed) == 0 {
		return nil
	}
	ix, err := loadBindings(ctx, tx, v.ID)
	if err != nil {
		return err
	}
	who := a.principal()
	for _, s := range changed {
		for _, k := range s.ReferencedKeys() {
			d := policy.DecideCredentialUse(policy.CredentialUse{Subject: a.subject(role), Principal: who, WrittenBy: ix.writtenBy[k], Bound: ix.covers(k, s.Pattern)})
			if !d.Allowed {
				return errNotBound(s.Name, k, s.Pattern)
			}
			if !d.Widen || dryRun {
				continue
			}
			if _, ok := ix.writtenBy[k]; !ok {
				continue // checkKeysExist reports it
			}
			if err := tx.Credentials().Bind(ctx, model.CredentialBinding{VaultID: v.ID, Key: k, Pattern: s.Pattern.String(), ByAgent: d.ByAgent, AddedBy: who, CreatedAt: b.now()}); err != nil {
				return internal(err, "binding a credential")
			}
			ix.patterns[k] = append(ix.patterns[k], s.Pattern.String())
		}
	}
	return nil
}

// bindProposalServices binds the credentials of a proposal's set services
// to their host patterns, for the user approving it: the approval page
// shows each such widening.
func (b *Broker) bindProposalServices(ctx context.Context, tx store.Store, a Actor, p model.Proposal, changes proposalChanges) error {
	for _, s := range changes.services {
		if s.action != model.ProposalSet {
			continue
		}
		for _, k := range s.svc.ReferencedKeys() {
			if err := tx.Credentials().Bind(ctx, model.CredentialBinding{VaultID: p.VaultID, Key: k, Pattern: s.svc.Pattern.String(), AddedBy: a.principal(), CreatedAt: b.now()}); err != nil {
				return internal(err, "binding a credential")
			}
		}
	}
	return nil
}

// parseBindHosts validates host patterns a user binds or unbinds.
func parseBindHosts(field string, hosts []string) ([]service.Pattern, error) {
	if len(hosts) == 0 {
		return nil, errs.Invalid(field, "name at least one host pattern, e.g. api.example.com or *.example.com")
	}
	if len(hosts) > maxBindHosts {
		return nil, errs.Invalid(field, "at most %d host patterns per request", maxBindHosts)
	}
	out := make([]service.Pattern, 0, len(hosts))
	for i, h := range hosts {
		p, err := service.ParsePattern(h)
		if err != nil {
			e, _ := errs.As(err)
			return nil, errs.Invalid(field+"["+strconv.Itoa(i)+"]", "%s", e.Message)
		}
		out = append(out, p)
	}
	return out, nil
}

// bindingOf renders a key's current binding.
func bindingOf(ctx context.Context, st store.Store, v model.Vault, key string) (apitype.CredentialBinding, error) {
	ix, err := loadBindingPatterns(ctx, st, v.ID)
	if err != nil {
		return apitype.CredentialBinding{}, err
	}
	return apitype.CredentialBinding{Vault: v.Name, Key: key, AllowedHosts: nonNil(ix.patterns[key])}, nil
}

// bindTarget loads the vault and checks the credential exists, for a
// user's bind or unbind.
func (b *Broker) bindTarget(ctx context.Context, tx store.Store, a Actor, in apitype.BindCredentialRequest) (model.Vault, error) {
	v, _, err := b.vaultAuthorized(ctx, tx, a, in.Vault, policy.BindCredential)
	if err != nil {
		return v, err
	}
	if _, err := tx.Credentials().Get(ctx, v.ID, in.Key); err != nil {
		return v, notFound(err, "credential %s not found in vault %q: set it first with `agent-vault vault credential set %s`", in.Key, v.Name, in.Key)
	}
	return v, nil
}

func checkBindRequest(in apitype.BindCredentialRequest) ([]service.Pattern, error) {
	if in.Vault == "" {
		return nil, errs.Invalid("vault", "vault is required")
	}
	if err := model.ValidateCredentialKey("key", in.Key); err != nil {
		return nil, err
	}
	return parseBindHosts("hosts", in.Hosts)
}

// BindCredential widens a credential's binding (users with member+ only:
// agents and vault sessions never widen one directly).
func (b *Broker) BindCredential(ctx context.Context, a Actor, in apitype.BindCredentialRequest) (apitype.CredentialBinding, error) {
	ps, err := checkBindRequest(in)
	if err != nil {
		return apitype.CredentialBinding{}, err
	}
	var out apitype.CredentialBinding
	err = b.tx(ctx, func(tx store.Store) error {
		v, err := b.bindTarget(ctx, tx, a, in)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := tx.Credentials().Bind(ctx, model.CredentialBinding{VaultID: v.ID, Key: in.Key, Pattern: p.String(), AddedBy: a.principal(), CreatedAt: b.now()}); err != nil {
				return internal(err, "binding a credential")
			}
		}
		out, err = bindingOf(ctx, tx, v, in.Key)
		return b.recordAfter(ctx, tx, err, with(a.event(trail.CredentialBind, v, in.Key), patternList(ps)))
	})
	return out, err
}

// UnbindCredential narrows a credential's binding (users with member+
// only). A pattern a service still needs is refused, as deleting a
// credential a service uses is.
func (b *Broker) UnbindCredential(ctx context.Context, a Actor, in apitype.BindCredentialRequest) (apitype.CredentialBinding, error) {
	ps, err := checkBindRequest(in)
	if err != nil {
		return apitype.CredentialBinding{}, err
	}
	var out apitype.CredentialBinding
	err = b.tx(ctx, func(tx store.Store) error {
		v, err := b.bindTarget(ctx, tx, a, in)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := tx.Credentials().Unbind(ctx, v.ID, in.Key, p.String()); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return errs.NotFound("credential %s is not bound to %s: list its bindings with `agent-vault vault credential list`", in.Key, p.String())
				}
				return internal(err, "unbinding a credential")
			}
		}
		ix, err := loadBindingPatterns(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		svcs, err := loadServices(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		for _, s := range svcs {
			if slices.Contains(s.ReferencedKeys(), in.Key) && !ix.covers(in.Key, s.Pattern) {
				return errs.Conflict("service %q (%s) sends %s and would no longer be covered: change or remove the service first, or keep a pattern covering it", s.Name, s.Pattern.String(), in.Key).WithCode("binding_in_use")
			}
		}
		out = apitype.CredentialBinding{Vault: v.Name, Key: in.Key, AllowedHosts: nonNil(ix.patterns[in.Key])}
		return b.record(ctx, tx, with(a.event(trail.CredentialUnbind, v, in.Key), patternList(ps)))
	})
	return out, err
}
