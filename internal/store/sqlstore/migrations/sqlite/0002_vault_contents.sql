-- Vault contents: encrypted credentials, each vault's service set, agents
-- with their vault grants, and vault-scoped sessions.

CREATE TABLE credentials (
    vault_id   TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    type       TEXT NOT NULL DEFAULT 'static' CHECK (type IN ('static', 'oauth')),
    ciphertext BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (vault_id, key)
);

-- One row per vault: the ordered service list as JSON. Declaration order is
-- part of match priority, and a PUT replaces the whole set at once.
CREATE TABLE service_sets (
    vault_id   TEXT PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
    services   TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);

CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'member', 'no-access')),
    token_hash BLOB NOT NULL UNIQUE,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE vault_agents (
    vault_id   TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'proxy')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (vault_id, agent_id)
);
CREATE INDEX vault_agents_agent ON vault_agents(agent_id);

-- Vault-scoped sessions, minted by a user or an agent for one vault.
CREATE TABLE scoped_sessions (
    id         TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    vault_id   TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    vault_role TEXT NOT NULL CHECK (vault_role IN ('admin', 'member', 'proxy')),
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    agent_id   TEXT REFERENCES agents(id) ON DELETE CASCADE,
    label      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (agent_id IS NULL))
);
CREATE INDEX scoped_sessions_agent ON scoped_sessions(agent_id);
CREATE INDEX scoped_sessions_user ON scoped_sessions(user_id);
