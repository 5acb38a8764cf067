package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

type agents struct{ *handle }

const agentCols = `id, name, role, token_hash, status, created_by, owner_user_id, owner_agent_id, created_at, updated_at, revoked_at`

func scanAgent(sc interface{ Scan(...any) error }) (model.Agent, error) {
	var a model.Agent
	var r, st string
	var ou, oa sql.NullString
	var c, u dbTime
	var rv nullTime
	if err := sc.Scan(&a.ID, &a.Name, &r, &a.TokenHash, &st, &a.CreatedBy, &ou, &oa, &c, &u, &rv); err != nil {
		return model.Agent{}, scanErr(err)
	}
	a.Role, a.Status, a.CreatedAt, a.UpdatedAt, a.RevokedAt = model.InstanceRole(r), model.AgentStatus(st), c.t, u.t, rv.t
	a.OwnerUserID, a.OwnerAgentID = ou.String, oa.String
	return a, nil
}

func (s agents) Create(ctx context.Context, a model.Agent) error {
	_, err := s.exec(ctx, `INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, string(a.Role), a.TokenHash, string(a.Status), a.CreatedBy, nullable(a.OwnerUserID), nullable(a.OwnerAgentID),
		fmtTime(a.CreatedAt), fmtTime(a.UpdatedAt), fmtTimePtr(a.RevokedAt))
	return err
}

func (s agents) ByName(ctx context.Context, name string) (model.Agent, error) {
	return scanAgent(s.row(ctx, `SELECT `+agentCols+` FROM agents WHERE name = ?`, name))
}

func (s agents) ByID(ctx context.Context, id string) (model.Agent, error) {
	return scanAgent(s.row(ctx, `SELECT `+agentCols+` FROM agents WHERE id = ?`, id))
}

func (s agents) ByTokenHash(ctx context.Context, hash []byte) (model.Agent, error) {
	return scanAgent(s.row(ctx, `SELECT `+agentCols+` FROM agents WHERE token_hash = ?`, hash))
}

func (s agents) List(ctx context.Context) ([]model.Agent, error) {
	rows, err := s.query(ctx, `SELECT `+agentCols+` FROM agents ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAgent)
}

func (s agents) Update(ctx context.Context, a model.Agent) error {
	return mustAffect(s.exec(ctx, `UPDATE agents SET name = ?, role = ?, token_hash = ?, status = ?, owner_user_id = ?, owner_agent_id = ?,
		updated_at = ?, revoked_at = ? WHERE id = ?`,
		a.Name, string(a.Role), a.TokenHash, string(a.Status), nullable(a.OwnerUserID), nullable(a.OwnerAgentID),
		fmtTime(a.UpdatedAt), fmtTimePtr(a.RevokedAt), a.ID))
}

func (s agents) Delete(ctx context.Context, id string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM agents WHERE id = ?`, id))
}

type agentGrants struct{ *handle }

const agentGrantSelect = `SELECT g.vault_id, v.name, g.agent_id, a.name, a.status, g.role, g.created_at
	FROM vault_agents g JOIN vaults v ON v.id = g.vault_id JOIN agents a ON a.id = g.agent_id`

func scanAgentGrant(sc interface{ Scan(...any) error }) (model.AgentGrant, error) {
	var g model.AgentGrant
	var r, st string
	var c dbTime
	if err := sc.Scan(&g.VaultID, &g.VaultName, &g.AgentID, &g.AgentName, &st, &r, &c); err != nil {
		return model.AgentGrant{}, scanErr(err)
	}
	g.Role, g.AgentStatus, g.CreatedAt = model.VaultRole(r), model.AgentStatus(st), c.t
	return g, nil
}

func (s agentGrants) Put(ctx context.Context, g model.AgentGrant) error {
	_, err := s.exec(ctx, `INSERT INTO vault_agents (vault_id, agent_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (vault_id, agent_id) DO UPDATE SET role = excluded.role`,
		g.VaultID, g.AgentID, string(g.Role), fmtTime(g.CreatedAt))
	return err
}

func (s agentGrants) Get(ctx context.Context, vaultID, agentID string) (model.AgentGrant, error) {
	return scanAgentGrant(s.row(ctx, agentGrantSelect+` WHERE g.vault_id = ? AND g.agent_id = ?`, vaultID, agentID))
}

func (s agentGrants) ListByVault(ctx context.Context, vaultID string) ([]model.AgentGrant, error) {
	rows, err := s.query(ctx, agentGrantSelect+` WHERE g.vault_id = ? ORDER BY a.name`, vaultID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAgentGrant)
}

func (s agentGrants) ListByAgent(ctx context.Context, agentID string) ([]model.AgentGrant, error) {
	rows, err := s.query(ctx, agentGrantSelect+` WHERE g.agent_id = ? ORDER BY v.name`, agentID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAgentGrant)
}

func (s agentGrants) Delete(ctx context.Context, vaultID, agentID string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM vault_agents WHERE vault_id = ? AND agent_id = ?`, vaultID, agentID))
}

type scopedSessions struct{ *handle }

const scopedSelect = `SELECT s.id, s.token_hash, s.vault_id, v.name, s.vault_role, s.user_id, s.agent_id, s.label, s.created_at, s.expires_at
	FROM scoped_sessions s JOIN vaults v ON v.id = s.vault_id`

func scanScoped(sc interface{ Scan(...any) error }) (model.ScopedSession, error) {
	var x model.ScopedSession
	var r string
	var uid, aid sql.NullString
	var c, e dbTime
	if err := sc.Scan(&x.ID, &x.TokenHash, &x.VaultID, &x.VaultName, &r, &uid, &aid, &x.Label, &c, &e); err != nil {
		return model.ScopedSession{}, scanErr(err)
	}
	x.VaultRole, x.UserID, x.AgentID, x.CreatedAt, x.ExpiresAt = model.VaultRole(r), uid.String, aid.String, c.t, e.t
	return x, nil
}

// nullable stores "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s scopedSessions) Create(ctx context.Context, x model.ScopedSession) error {
	_, err := s.exec(ctx, `INSERT INTO scoped_sessions (id, token_hash, vault_id, vault_role, user_id, agent_id, label, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.TokenHash, x.VaultID, string(x.VaultRole), nullable(x.UserID), nullable(x.AgentID), x.Label, fmtTime(x.CreatedAt), fmtTime(x.ExpiresAt))
	return err
}

func (s scopedSessions) ByTokenHash(ctx context.Context, hash []byte) (model.ScopedSession, error) {
	return scanScoped(s.row(ctx, scopedSelect+` WHERE s.token_hash = ?`, hash))
}

func (s scopedSessions) ListByCreator(ctx context.Context, userID, agentID string, now time.Time) ([]model.ScopedSession, error) {
	q, id := scopedSelect+` WHERE s.user_id = ? AND s.expires_at > ? ORDER BY s.created_at`, userID
	if agentID != "" {
		q, id = scopedSelect+` WHERE s.agent_id = ? AND s.expires_at > ? ORDER BY s.created_at`, agentID
	}
	rows, err := s.query(ctx, q, id, fmtTime(now))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanScoped)
}

func (s scopedSessions) DeleteByAgent(ctx context.Context, agentID string) error {
	_, err := s.exec(ctx, `DELETE FROM scoped_sessions WHERE agent_id = ?`, agentID)
	return err
}

func (s scopedSessions) DeleteByUser(ctx context.Context, userID string) error {
	_, err := s.exec(ctx, `DELETE FROM scoped_sessions WHERE user_id = ?`, userID)
	return err
}

func (s scopedSessions) Delete(ctx context.Context, id string) error {
	return mustAffect(s.exec(ctx, `DELETE FROM scoped_sessions WHERE id = ?`, id))
}

func (s scopedSessions) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM scoped_sessions WHERE expires_at <= ?`, fmtTime(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
