-- The whole schema, as SQLite's migrations 1–6 built it. Text is compared
-- byte-wise (collation "C", as SQLite does): times are fixed-width RFC 3339
-- UTC strings with nanoseconds that must sort as strings, and names sort
-- the same on both engines.
CREATE DOMAIN ctext AS TEXT COLLATE "C";

CREATE TABLE keyring (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    dek_plain   BYTEA,
    dek_wrapped BYTEA,
    kdf_salt    BYTEA,
    kdf_time    BIGINT NOT NULL DEFAULT 0,
    kdf_memory  BIGINT NOT NULL DEFAULT 0,
    kdf_threads BIGINT NOT NULL DEFAULT 0,
    updated_at  ctext NOT NULL,
    CHECK ((dek_plain IS NULL) <> (dek_wrapped IS NULL))
);

CREATE TABLE users (
    id            ctext PRIMARY KEY,
    email         ctext NOT NULL UNIQUE,
    password_hash ctext NOT NULL,
    role          ctext NOT NULL CHECK (role IN ('owner', 'member', 'no-access')),
    created_at    ctext NOT NULL,
    updated_at    ctext NOT NULL
);

CREATE TABLE user_sessions (
    id           ctext PRIMARY KEY,
    user_id      ctext NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    device_label ctext NOT NULL DEFAULT '',
    created_at   ctext NOT NULL,
    last_used_at ctext NOT NULL,
    expires_at   ctext NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions(user_id);

CREATE TABLE vaults (
    id                    ctext PRIMARY KEY,
    name                  ctext NOT NULL UNIQUE,
    unmatched_host_policy ctext NOT NULL DEFAULT 'passthrough'
                          CHECK (unmatched_host_policy IN ('passthrough', 'deny')),
    created_at            ctext NOT NULL,
    updated_at            ctext NOT NULL
);

CREATE TABLE vault_users (
    vault_id   ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id    ctext NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       ctext NOT NULL CHECK (role IN ('admin', 'member', 'proxy')),
    created_at ctext NOT NULL,
    PRIMARY KEY (vault_id, user_id)
);
CREATE INDEX vault_users_user ON vault_users(user_id);

CREATE TABLE invites (
    id          ctext PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    email       ctext NOT NULL,
    role        ctext NOT NULL CHECK (role IN ('owner', 'member', 'no-access')),
    created_by  ctext NOT NULL,
    created_at  ctext NOT NULL,
    expires_at  ctext NOT NULL,
    accepted_at ctext,
    revoked_at  ctext
);
CREATE INDEX invites_email ON invites(email);

CREATE TABLE invite_vaults (
    invite_id ctext NOT NULL REFERENCES invites(id) ON DELETE CASCADE,
    vault_id  ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    role      ctext NOT NULL CHECK (role IN ('admin', 'member', 'proxy')),
    PRIMARY KEY (invite_id, vault_id)
);

CREATE TABLE settings (
    key        ctext PRIMARY KEY,
    value      ctext NOT NULL,
    updated_at ctext NOT NULL
);

CREATE TABLE credentials (
    vault_id   ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key        ctext NOT NULL,
    type       ctext NOT NULL DEFAULT 'static' CHECK (type IN ('static', 'oauth')),
    ciphertext BYTEA NOT NULL,
    created_at ctext NOT NULL,
    updated_at ctext NOT NULL,
    PRIMARY KEY (vault_id, key)
);

CREATE TABLE service_sets (
    vault_id   ctext PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
    services   ctext NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1,
    updated_at ctext NOT NULL
);

CREATE TABLE agents (
    id         ctext PRIMARY KEY,
    name       ctext NOT NULL UNIQUE,
    role       ctext NOT NULL CHECK (role IN ('owner', 'member', 'no-access')),
    token_hash BYTEA NOT NULL UNIQUE,
    status     ctext NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_by ctext NOT NULL,
    created_at ctext NOT NULL,
    updated_at ctext NOT NULL,
    revoked_at ctext
);

CREATE TABLE vault_agents (
    vault_id   ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    agent_id   ctext NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    role       ctext NOT NULL CHECK (role IN ('admin', 'member', 'proxy')),
    created_at ctext NOT NULL,
    PRIMARY KEY (vault_id, agent_id)
);
CREATE INDEX vault_agents_agent ON vault_agents(agent_id);

CREATE TABLE scoped_sessions (
    id         ctext PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    vault_id   ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    vault_role ctext NOT NULL CHECK (vault_role IN ('admin', 'member', 'proxy')),
    user_id    ctext REFERENCES users(id) ON DELETE CASCADE,
    agent_id   ctext REFERENCES agents(id) ON DELETE CASCADE,
    label      ctext NOT NULL DEFAULT '',
    created_at ctext NOT NULL,
    expires_at ctext NOT NULL,
    CHECK ((user_id IS NULL) <> (agent_id IS NULL))
);
CREATE INDEX scoped_sessions_agent ON scoped_sessions(agent_id);
CREATE INDEX scoped_sessions_user ON scoped_sessions(user_id);

CREATE TABLE ca (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cert_pem   BYTEA NOT NULL,
    sealed_key BYTEA NOT NULL,
    created_at ctext NOT NULL
);

CREATE TABLE proposals (
    id                   BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    vault_id             ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    status               ctext NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'expired')),
    services             ctext NOT NULL,
    credentials          ctext NOT NULL,
    message              ctext NOT NULL DEFAULT '',
    user_message         ctext NOT NULL DEFAULT '',
    created_by_kind      ctext NOT NULL,
    created_by_id        ctext NOT NULL,
    created_by_name      ctext NOT NULL,
    approval_token_hash  BYTEA NOT NULL UNIQUE,
    approval_expires_at  ctext NOT NULL,
    created_at           ctext NOT NULL,
    expires_at           ctext NOT NULL,
    decided_at           ctext,
    decided_by           ctext NOT NULL DEFAULT '',
    rejection_reason     ctext NOT NULL DEFAULT ''
);
CREATE INDEX proposals_vault_status ON proposals(vault_id, status);

CREATE TABLE proposal_values (
    proposal_id BIGINT NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    key         ctext NOT NULL,
    ciphertext  BYTEA NOT NULL,
    PRIMARY KEY (proposal_id, key)
);

-- The request log in segments (internal/store/logsegment).
CREATE TABLE request_log_segments (
    id       BIGINT PRIMARY KEY, -- the id of the segment's newest log row
    vault_id ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    first_id BIGINT NOT NULL,
    rows     BIGINT NOT NULL,
    min_at   ctext NOT NULL,
    max_at   ctext NOT NULL,
    data     BYTEA NOT NULL
);
CREATE INDEX request_log_segments_vault ON request_log_segments(vault_id, id);

CREATE TABLE request_log_seq (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO request_log_seq (one, last_id) VALUES (1, 0);

CREATE TABLE discovered_hosts (
    vault_id  ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    host      ctext NOT NULL,
    port      BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    last_seen ctext NOT NULL,
    PRIMARY KEY (vault_id, host, port)
);
