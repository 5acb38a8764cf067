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
-- deferred so that migrate-db can copy agents in any order.
ALTER TABLE agents
    ADD COLUMN owner_user_id ctext REFERENCES users(id) ON DELETE SET NULL,
    ADD COLUMN owner_agent_id ctext REFERENCES agents(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT agents_one_owner CHECK (owner_user_id IS NULL OR owner_agent_id IS NULL);
CREATE INDEX agents_owner_user ON agents(owner_user_id);
CREATE INDEX agents_owner_agent ON agents(owner_agent_id);
UPDATE agents a SET owner_user_id = u.id
    FROM users u WHERE u.email = a.created_by AND u.created_at <= a.created_at;
UPDATE agents a SET owner_agent_id = c.id
    FROM agents c WHERE c.id <> a.id AND 'agent:' || c.name = a.created_by AND c.created_at <= a.created_at;

ALTER TABLE invites ADD COLUMN created_by_id ctext REFERENCES users(id) ON DELETE SET NULL;
UPDATE invites i SET created_by_id = u.id
    FROM users u WHERE u.email = i.created_by AND u.created_at <= i.created_at;
CREATE INDEX invites_created_by ON invites(created_by_id);
