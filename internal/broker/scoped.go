package broker

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// creatorIDs are the (user, agent) ids that own sessions the actor mints.
func creatorIDs(a Actor) (string, string) {
	if a.Kind == model.ActorAgent {
		return "", a.Agent.ID
	}
	return a.User.ID, ""
}

// CreateScopedSession mints a vault-bound session token for the actor's
// vault, with a role no higher than the actor's own there (proxy by
// default). An actor holds at most 10 unexpired ones.
func (b *Broker) CreateScopedSession(ctx context.Context, a Actor, in apitype.CreateScopedSessionRequest) (apitype.ScopedSessionCreated, error) {
	if a.Scope != nil {
		return apitype.ScopedSessionCreated{}, errs.Forbidden("a vault-scoped session cannot mint other sessions")
	}
	if in.Vault == "" {
		return apitype.ScopedSessionCreated{}, errs.Invalid("vault", "vault is required")
	}
	role := model.VaultProxy
	if in.VaultRole != "" {
		r, err := model.ParseVaultRole("vault_role", in.VaultRole)
		if err != nil {
			return apitype.ScopedSessionCreated{}, err
		}
		role = r
	}
	ttl := model.ScopedSessionDefaultTTL
	if in.TTLSeconds != 0 {
		ttl = time.Duration(in.TTLSeconds) * time.Second
		if ttl < model.ScopedSessionMinTTL || ttl > model.ScopedSessionMaxTTL {
			return apitype.ScopedSessionCreated{}, errs.Invalid("ttl_seconds", "ttl_seconds must be between %d (5 minutes) and %d (7 days)", int(model.ScopedSessionMinTTL.Seconds()), int(model.ScopedSessionMaxTTL.Seconds()))
		}
	}
	if len(in.Label) > 100 {
		return apitype.ScopedSessionCreated{}, errs.Invalid("label", "label must be at most 100 characters")
	}
	tok := token.New(token.PrefixSession)
	var out apitype.ScopedSessionCreated
	err := b.tx(ctx, func(tx store.Store) error {
		v, mine, err := b.vaultAuthorized(ctx, tx, a, in.Vault, policy.WriteCredential)
		if errs.KindOf(err) == errs.KindForbidden {
			return errs.Forbidden("minting a vault session needs the member role or higher in vault %q", in.Vault)
		} else if err != nil {
			// Not found (a typo, or a vault the actor cannot see) reads
			// as in every other command; a database failure is no refusal.
			return err
		}
		if !mine.Satisfies(role) {
			return errs.Forbidden("you cannot mint a %s session: your role in vault %q is %s", role, v.Name, mine)
		}
		uid, aid := creatorIDs(a)
		now := b.now()
		active, err := tx.ScopedSessions().ListByCreator(ctx, uid, aid, now)
		if err != nil {
			return internal(err, "counting sessions")
		}
		if len(active) >= model.MaxScopedSessionsPerActor {
			return errs.Conflict("you already hold %d active vault sessions, the most allowed: revoke one with `agent-vault vault token revoke <id>` (list them with GET /v1/sessions) or wait for one to expire", model.MaxScopedSessionsPerActor).WithCode("too_many_sessions")
		}
		s := model.ScopedSession{
			ID: token.ID(10), TokenHash: token.Hash(tok), VaultID: v.ID, VaultRole: role,
			UserID: uid, AgentID: aid, Label: in.Label, CreatedAt: now, ExpiresAt: now.Add(ttl),
		}
		if err := tx.ScopedSessions().Create(ctx, s); err != nil {
			return internal(err, "creating the session")
		}
		out = apitype.ScopedSessionCreated{ID: s.ID, Token: tok, ExpiresAt: s.ExpiresAt, AVAddr: b.baseURL, Vault: v.Name, VaultRole: string(role)}
		return b.record(ctx, tx, with(a.event(trail.ScopedMint, v, "session:"+s.ID), "role="+string(role)+" ttl="+ttl.String()))
	})
	return out, err
}

// ListScopedSessions lists the unexpired sessions the actor minted,
// optionally in one vault.
func (b *Broker) ListScopedSessions(ctx context.Context, a Actor, vault string) (apitype.ScopedSessionList, error) {
	out := apitype.ScopedSessionList{Sessions: []apitype.ScopedSession{}}
	if a.Scope != nil {
		return out, errs.Forbidden("a vault-scoped session cannot list sessions")
	}
	uid, aid := creatorIDs(a)
	ss, err := b.st.ScopedSessions().ListByCreator(ctx, uid, aid, b.now())
	if err != nil {
		return out, internal(err, "listing sessions")
	}
	by := &apitype.SessionCreator{ID: uid + aid, Type: string(a.Kind), DisplayName: a.Name()}
	for _, s := range ss {
		if vault != "" && s.VaultName != vault {
			continue
		}
		out.Sessions = append(out.Sessions, apitype.ScopedSession{ID: s.ID, Label: s.Label, Vault: s.VaultName, VaultRole: string(s.VaultRole), CreatedBy: by, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt})
	}
	return out, nil
}

// RevokeScopedSession ends one session the actor minted.
func (b *Broker) RevokeScopedSession(ctx context.Context, a Actor, id string) (apitype.StatusOK, error) {
	if a.Scope != nil {
		return apitype.StatusOK{}, errs.Forbidden("a vault-scoped session cannot revoke sessions")
	}
	uid, aid := creatorIDs(a)
	ss, err := b.st.ScopedSessions().ListByCreator(ctx, uid, aid, b.now())
	if err != nil {
		return apitype.StatusOK{}, internal(err, "listing sessions")
	}
	for _, s := range ss {
		if s.ID == id {
			if err := b.tx(ctx, func(tx store.Store) error {
				err := notFound(tx.ScopedSessions().Delete(ctx, id), "session not found")
				return b.recordAfter(ctx, tx, err, a.event(trail.ScopedRevoke, model.Vault{ID: s.VaultID, Name: s.VaultName}, "session:"+id))
			}); err != nil {
				return apitype.StatusOK{}, err
			}
			return apitype.StatusOK{Status: "revoked"}, nil
		}
	}
	return apitype.StatusOK{}, errs.NotFound("session %q not found among the vault sessions you minted", id)
}
