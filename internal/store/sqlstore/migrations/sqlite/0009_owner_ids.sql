-- Who manages an agent, and who sent an invite, by immutable id. They
-- were recorded by name (an email, or agent:<name>) and checked by name,
-- so whoever later held that name (a re-registered email, a renamed or new
-- agent) inherited the rights. The name columns stay as labels.
--
-- Existing rows resolve their name to the user or agent holding it now,
-- but only one that already existed when the row was written: a holder
-- created later is a newcomer who took the name, not the creator. Rows
-- that resolve to nobody are owned by nobody (instance owners only); an
-- invite without an inviter can no longer be accepted. See
-- docs/operations.md (upgrading). The agent-to-agent reference is
-- deferred so that a copy of the database can insert agents in any order.
ALTER TABLE agents ADD COLUMN owner_user_id TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE agents ADD COLUMN owner_agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;
UPDATE agents SET owner_user_id = (
    SELECT u.id FROM users u WHERE u.email = agents.created_by AND u.created_at <= agents.created_at);
UPDATE agents SET owner_agent_id = (
    SELECT c.id FROM agents c
    WHERE c.id <> agents.id AND 'agent:' || c.name = agents.created_by AND c.created_at <= agents.created_at);
CREATE INDEX agents_owner_user ON agents(owner_user_id);
CREATE INDEX agents_owner_agent ON agents(owner_agent_id);

ALTER TABLE invites ADD COLUMN created_by_id TEXT REFERENCES users(id) ON DELETE SET NULL;
UPDATE invites SET created_by_id = (
    SELECT u.id FROM users u WHERE u.email = invites.created_by AND u.created_at <= invites.created_at);
CREATE INDEX invites_created_by ON invites(created_by_id);
