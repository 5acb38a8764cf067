-- The admin audit trail: one row per management action (logins, sessions,
-- credentials, services, agents, grants, invites, proposals, settings,
-- master password), chained by a keyed hash so that a changed, inserted or
-- deleted row is found by `agent-vault audit verify`. No foreign keys: a
-- row outlives the user, agent or vault it names. No value is ever stored.
CREATE TABLE admin_events (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    vault_id   TEXT NOT NULL,
    vault      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    source     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    hash       BLOB NOT NULL
);
CREATE INDEX admin_events_vault ON admin_events(vault_id, seq);
CREATE INDEX admin_events_at ON admin_events(at);

-- The chain's head: the newest row and the retention cut, with a MAC over
-- both (zeros until the first row is written).
CREATE TABLE admin_event_head (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    seq      INTEGER NOT NULL,
    hash     BLOB NOT NULL,
    cut_seq  INTEGER NOT NULL,
    cut_hash BLOB NOT NULL,
    mac      BLOB NOT NULL
);
INSERT INTO admin_event_head (one, seq, hash, cut_seq, cut_hash, mac) VALUES (1, 0, zeroblob(32), 0, zeroblob(32), zeroblob(32));
