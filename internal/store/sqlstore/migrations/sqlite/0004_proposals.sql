-- Proposals: an agent's request to change a vault's services and
-- credentials, applied only when a human approves it. Services and slots
-- are stored as the API's JSON; agent-supplied values are sealed apart.
CREATE TABLE proposals (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    vault_id             TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'expired')),
    services             TEXT NOT NULL,
    credentials          TEXT NOT NULL,
    message              TEXT NOT NULL DEFAULT '',
    user_message         TEXT NOT NULL DEFAULT '',
    created_by_kind      TEXT NOT NULL,
    created_by_id        TEXT NOT NULL,
    created_by_name      TEXT NOT NULL,
    approval_token_hash  BLOB NOT NULL UNIQUE,
    approval_expires_at  TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    decided_at           TEXT,
    decided_by           TEXT NOT NULL DEFAULT '',
    rejection_reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX proposals_vault_status ON proposals(vault_id, status);

CREATE TABLE proposal_values (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    ciphertext  BLOB NOT NULL,
    PRIMARY KEY (proposal_id, key)
);
