-- The agent accountable for a proposal: the agent that raised it, or the
-- agent that minted the vault session that raised it ('' for a human, or
-- a session a human minted). Recorded when the proposal is made, so that
-- the per-agent pending cap (docs/proposals.md) still counts a proposal
-- after its session expired, was revoked or was deleted: the session row
-- is no lasting link from a proposal to its agent.
--
-- Existing rows: an agent's own proposals name it; a session's name the
-- agent that minted it if that session's row is still there. Proposals of
-- sessions already gone stay '' (they expire within seven days).
ALTER TABLE proposals ADD COLUMN accountable_agent_id TEXT NOT NULL DEFAULT '';
UPDATE proposals SET accountable_agent_id = created_by_id
    WHERE created_by_kind = 'agent' AND created_by_id NOT LIKE 'session:%';
UPDATE proposals SET accountable_agent_id = (
    SELECT s.agent_id FROM scoped_sessions s WHERE 'session:' || s.id = proposals.created_by_id)
    WHERE created_by_id LIKE 'session:%' AND EXISTS (
        SELECT 1 FROM scoped_sessions s WHERE 'session:' || s.id = proposals.created_by_id AND s.agent_id IS NOT NULL);
