package broker

import (
	"context"
	"errors"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
)

// Actor is an authenticated caller: a user with a login session, an agent
// with its token, or the holder of a vault-scoped session. Scoped sessions
// act as agents (they never read values nor approve), whoever minted them.
type Actor struct {
	Kind      model.ActorKind
	User      model.User           // the user, for user sessions and user-minted scoped sessions
	Agent     model.Agent          // the agent, for agent tokens and agent-minted scoped sessions
	SessionID string               // the user login session
	Scope     *model.ScopedSession // set for vault-scoped sessions
}

// IsUser reports a human with a login session (not a scoped session).
func (a Actor) IsUser() bool { return a.Kind == model.ActorUser && a.Scope == nil }

// Role is the actor's instance role. Scoped sessions have none: they reach
// only their vault.
func (a Actor) Role() model.InstanceRole {
	switch {
	case a.Scope != nil:
		return model.RoleNoAccess
	case a.Kind == model.ActorAgent:
		return a.Agent.Role
	}
	return a.User.Role
}

// Name identifies the actor in listings and logs.
func (a Actor) Name() string {
	switch {
	case a.Scope != nil:
		return "session:" + a.Scope.ID
	case a.Kind == model.ActorAgent:
		return "agent:" + a.Agent.Name
	}
	return a.User.Email
}

// ID identifies the actor for rate budgets: it never changes, so that
// renaming an agent or changing a user's email does not reset them. A
// vault session an agent minted counts as that agent, so that minting
// sessions does not multiply its budgets; one a user minted has its own.
func (a Actor) ID() string {
	switch {
	case a.Scope != nil && a.Scope.AgentID != "":
		return "agent-id:" + a.Scope.AgentID
	case a.Scope != nil:
		return "session:" + a.Scope.ID
	case a.Kind == model.ActorAgent:
		return "agent-id:" + a.Agent.ID
	}
	return "user-id:" + a.User.ID
}

// subject is the actor as policy sees it, with its role in one vault.
func (a Actor) subject(vr model.VaultRole) policy.Subject {
	return policy.Subject{Kind: a.Kind, InstanceRole: a.Role(), VaultRole: vr}
}

// authorize turns a policy decision into a Forbidden error.
func authorize(a Actor, vr model.VaultRole, act policy.Action) error {
	if d := policy.Decide(a.subject(vr), act); !d.Allowed {
		return errs.Forbidden("%s", d.Reason)
	}
	return nil
}

// vaultFor loads a vault by name with the actor's role in it ("" when the
// actor holds no grant).
func (b *Broker) vaultFor(ctx context.Context, st store.Store, a Actor, name string) (model.Vault, model.VaultRole, error) {
	if err := model.ValidateVaultName("vault", name); err != nil && name != model.DefaultVault {
		return model.Vault{}, "", err
	}
	v, err := st.Vaults().ByName(ctx, name)
	if err != nil {
		return model.Vault{}, "", notFoundAs(err, vaultNotFound(name))
	}
	r, err := b.roleIn(ctx, st, a, v.ID)
	return v, r, err
}

// roleIn is the actor's role in the vault with id vaultID.
func (b *Broker) roleIn(ctx context.Context, st store.Store, a Actor, vaultID string) (model.VaultRole, error) {
	var (
		role model.VaultRole
		err  error
	)
	switch {
	case a.Scope != nil:
		if a.Scope.VaultID != vaultID {
			return "", nil
		}
		// A session never outlives its minter's access: capped at the
		// minter's current role, gone with the minter's grant.
		var minter Actor
		if a.Scope.AgentID != "" {
			minter = Actor{Kind: model.ActorAgent, Agent: a.Agent}
		} else {
			minter = Actor{Kind: model.ActorUser, User: a.User}
		}
		mr, err := b.roleIn(ctx, st, minter, vaultID)
		if err != nil || mr == "" {
			return "", err
		}
		if !mr.Satisfies(a.Scope.VaultRole) {
			return mr, nil
		}
		return a.Scope.VaultRole, nil
	case a.Kind == model.ActorAgent:
		var g model.AgentGrant
		g, err = st.AgentGrants().Get(ctx, vaultID, a.Agent.ID)
		role = g.Role
	default:
		var g model.VaultGrant
		g, err = st.Grants().Get(ctx, vaultID, a.User.ID)
		role = g.Role
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", errs.Internal(err, "reading vault membership")
	}
	return role, nil
}

// rolesOf maps vault id to the actor's role in every vault it holds one
// in, with one query (roleIn asks about one vault).
func (b *Broker) rolesOf(ctx context.Context, st store.Store, a Actor) (map[string]model.VaultRole, error) {
	out := map[string]model.VaultRole{}
	switch {
	case a.Scope != nil:
		r, err := b.roleIn(ctx, st, a, a.Scope.VaultID)
		if r != "" {
			out[a.Scope.VaultID] = r
		}
		return out, err
	case a.Kind == model.ActorAgent:
		gs, err := st.AgentGrants().ListByAgent(ctx, a.Agent.ID)
		for _, g := range gs {
			out[g.VaultID] = g.Role
		}
		return out, internal(err, "listing vault grants")
	}
	gs, err := st.Grants().ListByUser(ctx, a.User.ID)
	for _, g := range gs {
		out[g.VaultID] = g.Role
	}
	return out, internal(err, "listing vault grants")
}

// errBadToken is the answer to every unusable token.
func errBadToken(why string) error {
	return errs.Unauthorized("%s: users log in again with `agent-vault auth login`; agents need a new token (`agent-vault agent rotate`, or a fresh `agent-vault vault token`)", why)
}

// Authenticate resolves a bearer token to an actor: a user login session,
// a vault-scoped session, or an agent token. User sessions slide their
// idle expiry at most once a minute.
func (b *Broker) Authenticate(ctx context.Context, tok string) (Actor, error) {
	switch {
	case token.HasPrefix(tok, token.PrefixSession):
		return b.authSession(ctx, tok)
	case token.HasPrefix(tok, token.PrefixAgent):
		ag, err := b.st.Agents().ByTokenHash(ctx, token.Hash(tok))
		if err != nil {
			return Actor{}, notFoundAs(err, errBadToken("agent token not recognised (rotated or deleted)"))
		}
		if ag.Status != model.AgentActive {
			return Actor{}, errBadToken("agent " + ag.Name + " is revoked")
		}
		return Actor{Kind: model.ActorAgent, Agent: ag}, nil
	}
	return Actor{}, errs.Unauthorized("missing or malformed token: log in with `agent-vault auth login` or pass an av_sess_/av_agt_ token as `Authorization: Bearer <token>`")
}

func (b *Broker) authSession(ctx context.Context, tok string) (Actor, error) {
	h := token.Hash(tok)
	now := b.now()
	s, err := b.st.Sessions().ByTokenHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return b.authScoped(ctx, h)
	}
	if err != nil {
		return Actor{}, internal(err, "reading the session")
	}
	if !s.ActiveAt(now) {
		return Actor{}, errBadToken("session expired")
	}
	u, err := b.st.Users().ByID(ctx, s.UserID)
	if err != nil {
		return Actor{}, notFoundAs(err, errBadToken("the account of this session no longer exists"))
	}
	if now.Sub(s.LastUsedAt) >= touchEvery {
		if err := b.st.Sessions().Touch(ctx, s.ID, now); err != nil {
			b.log.Warn("could not record session use", "err", err)
		}
	}
	return Actor{Kind: model.ActorUser, User: u, SessionID: s.ID}, nil
}

func (b *Broker) authScoped(ctx context.Context, h []byte) (Actor, error) {
	s, err := b.st.ScopedSessions().ByTokenHash(ctx, h)
	if err != nil {
		return Actor{}, notFoundAs(err, errBadToken("session not found or revoked"))
	}
	if !b.now().Before(s.ExpiresAt) {
		return Actor{}, errBadToken("vault session expired")
	}
	a := Actor{Kind: model.ActorAgent, Scope: &s}
	if s.AgentID != "" {
		ag, err := b.st.Agents().ByID(ctx, s.AgentID)
		if err != nil {
			return Actor{}, notFoundAs(err, errBadToken("the agent of this session no longer exists"))
		}
		if ag.Status != model.AgentActive {
			return Actor{}, errBadToken("agent " + ag.Name + " is revoked")
		}
		a.Agent = ag
		return a, nil
	}
	u, err := b.st.Users().ByID(ctx, s.UserID)
	if err != nil {
		return Actor{}, notFoundAs(err, errBadToken("the account that minted this session no longer exists"))
	}
	a.User = u
	return a, nil
}
