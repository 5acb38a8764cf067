-- The agent accountable for a proposal (see SQLite's
-- 0014_proposal_accountable_agent.sql).
ALTER TABLE proposals ADD COLUMN accountable_agent_id ctext NOT NULL DEFAULT '';
UPDATE proposals SET accountable_agent_id = created_by_id
    WHERE created_by_kind = 'agent' AND created_by_id NOT LIKE 'session:%';
UPDATE proposals p SET accountable_agent_id = s.agent_id
    FROM scoped_sessions s WHERE p.created_by_id = 'session:' || s.id AND s.agent_id IS NOT NULL;
