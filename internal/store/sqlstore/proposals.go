package sqlstore

import (
	"context"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

type proposals struct{ *handle }

const proposalSelect = `SELECT p.id, p.vault_id, v.name, p.status, p.services, p.credentials, p.message, p.user_message,
	p.created_by_kind, p.created_by_id, p.created_by_name, p.accountable_agent_id, p.approval_token_hash, p.approval_expires_at,
	p.created_at, p.expires_at, p.decided_at, p.decided_by, p.rejection_reason
	FROM proposals p JOIN vaults v ON v.id = p.vault_id`

func scanProposal(sc interface{ Scan(...any) error }) (model.Proposal, error) {
	var p model.Proposal
	var st, kind, svcs, creds string
	var ae, c, e dbTime
	var d nullTime
	if err := sc.Scan(&p.ID, &p.VaultID, &p.VaultName, &st, &svcs, &creds, &p.Message, &p.UserMessage,
		&kind, &p.CreatedByID, &p.CreatedByName, &p.AccountableAgentID, &p.ApprovalTokenHash, &ae, &c, &e, &d, &p.DecidedBy, &p.RejectionReason); err != nil {
		return model.Proposal{}, scanErr(err)
	}
	p.Status, p.CreatedByKind = model.ProposalStatus(st), model.ActorKind(kind)
	p.ServicesDoc, p.CredentialsDoc = []byte(svcs), []byte(creds)
	p.ApprovalExpiresAt, p.CreatedAt, p.ExpiresAt, p.DecidedAt = ae.t, c.t, e.t, d.t
	return p, nil
}

func (s proposals) Create(ctx context.Context, p model.Proposal) (int64, error) {
	var id int64
	err := s.row(ctx, `INSERT INTO proposals (vault_id, status, services, credentials, message, user_message,
		created_by_kind, created_by_id, created_by_name, accountable_agent_id, approval_token_hash, approval_expires_at, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.VaultID, string(p.Status), string(p.ServicesDoc), string(p.CredentialsDoc), p.Message, p.UserMessage,
		string(p.CreatedByKind), p.CreatedByID, p.CreatedByName, p.AccountableAgentID, p.ApprovalTokenHash, fmtTime(p.ApprovalExpiresAt),
		fmtTime(p.CreatedAt), fmtTime(p.ExpiresAt)).Scan(&id)
	if err != nil {
		return 0, s.d.mapErr(err)
	}
	for k, ct := range p.SealedValues {
		if _, err := s.exec(ctx, `INSERT INTO proposal_values (proposal_id, key, ciphertext) VALUES (?, ?, ?)`, id, k, ct); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (s proposals) withValues(ctx context.Context, p model.Proposal, err error) (model.Proposal, error) {
	if err != nil {
		return p, err
	}
	rows, err := s.query(ctx, `SELECT key, ciphertext FROM proposal_values WHERE proposal_id = ?`, p.ID)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	p.SealedValues = map[string][]byte{}
	for rows.Next() {
		var k string
		var ct []byte
		if err := rows.Scan(&k, &ct); err != nil {
			return p, err
		}
		p.SealedValues[k] = ct
	}
	return p, rows.Err()
}

func (s proposals) Get(ctx context.Context, id int64) (model.Proposal, error) {
	p, err := scanProposal(s.row(ctx, proposalSelect+` WHERE p.id = ?`, id))
	return s.withValues(ctx, p, err)
}

func (s proposals) ByApprovalHash(ctx context.Context, hash []byte) (model.Proposal, error) {
	p, err := scanProposal(s.row(ctx, proposalSelect+` WHERE p.approval_token_hash = ?`, hash))
	return s.withValues(ctx, p, err)
}

func (s proposals) List(ctx context.Context, f store.ProposalFilter) ([]model.Proposal, error) {
	q, args := proposalSelect+` WHERE 1 = 1`, []any{}
	if f.VaultID != "" {
		q, args = q+` AND p.vault_id = ?`, append(args, f.VaultID)
	}
	if f.Status != "" {
		q, args = q+` AND p.status = ?`, append(args, string(f.Status))
	}
	q += ` ORDER BY p.id DESC`
	if f.Limit > 0 {
		q, args = q+` LIMIT ?`, append(args, f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanProposal)
}

func (s proposals) CountPending(ctx context.Context, vaultID string, now time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM proposals WHERE vault_id = ? AND status = ? AND expires_at > ?`, vaultID, string(model.ProposalPending), fmtTime(now)).Scan(&n)
	return n, err
}

func (s proposals) Decide(ctx context.Context, id int64, status model.ProposalStatus, by, reason string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE proposals SET status = ?, decided_by = ?, rejection_reason = ?, decided_at = ?
		WHERE id = ? AND status = ?`, string(status), by, reason, fmtTime(at), id, string(model.ProposalPending))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrConflict
	}
	_, err = s.exec(ctx, `DELETE FROM proposal_values WHERE proposal_id = ?`, id)
	return err
}

func (s proposals) ExpireBefore(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `UPDATE proposals SET status = ? WHERE status = ? AND expires_at <= ?`,
		string(model.ProposalExpired), string(model.ProposalPending), fmtTime(now))
	if err != nil {
		return 0, err
	}
	_, _ = s.exec(ctx, `DELETE FROM proposal_values WHERE proposal_id IN (SELECT id FROM proposals WHERE status = ?)`, string(model.ProposalExpired))
	return res.RowsAffected()
}
