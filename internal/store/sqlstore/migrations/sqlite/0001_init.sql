-- Foundation schema: keyring, users, sessions, vaults, grants, invites, settings.
-- Times are TEXT in fixed-width RFC 3339 UTC with nanoseconds, so they sort
-- as strings and keep sub-second precision.

CREATE TABLE keyring (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    dek_plain   BLOB,
    dek_wrapped BLOB,
    kdf_salt    BLOB,
    kdf_time    INTEGER NOT NULL DEFAULT 0,
    kdf_memory  INTEGER NOT NULL DEFAULT 0,
    kdf_threads INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL,
    CHECK ((dek_plain IS NULL) <> (dek_wrapped IS NULL))
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'member', 'no-access')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE user_sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    device_label TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions(user_id);

CREATE TABLE vaults (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    unmatched_host_policy TEXT NOT NULL DEFAULT 'passthrough'
                          CHECK (unmatched_host_policy IN ('passthrough', 'deny')),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE TABLE vault_users (
    vault_id   TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'proxy')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (vault_id, user_id)
);
CREATE INDEX vault_users_user ON vault_users(user_id);

CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'member', 'no-access')),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    revoked_at  TEXT
);
CREATE INDEX invites_email ON invites(email);

CREATE TABLE invite_vaults (
    invite_id TEXT NOT NULL REFERENCES invites(id) ON DELETE CASCADE,
    vault_id  TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('admin', 'member', 'proxy')),
    PRIMARY KEY (invite_id, vault_id)
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
