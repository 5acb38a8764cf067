-- The admin audit trail (see SQLite's 0010_admin_trail.sql).
CREATE TABLE admin_events (
    seq        BIGINT PRIMARY KEY,
    at         ctext NOT NULL,
    actor_kind ctext NOT NULL,
    actor_id   ctext NOT NULL,
    actor_name ctext NOT NULL,
    vault_id   ctext NOT NULL,
    vault      ctext NOT NULL,
    action     ctext NOT NULL,
    target     ctext NOT NULL,
    source     ctext NOT NULL,
    outcome    ctext NOT NULL,
    detail     ctext NOT NULL,
    hash       BYTEA NOT NULL
);
CREATE INDEX admin_events_vault ON admin_events(vault_id, seq);
CREATE INDEX admin_events_at ON admin_events(at);

CREATE TABLE admin_event_head (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    seq      BIGINT NOT NULL,
    hash     BYTEA NOT NULL,
    cut_seq  BIGINT NOT NULL,
    cut_hash BYTEA NOT NULL,
    mac      BYTEA NOT NULL
);
INSERT INTO admin_event_head (one, seq, hash, cut_seq, cut_hash, mac) VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0, decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'));
