-- Credential host binding: who wrote each value, and the host patterns
-- each credential may be sent to. The Go step of this migration binds
-- every credential to the host patterns of the services that use it.
ALTER TABLE credentials ADD COLUMN written_by TEXT NOT NULL DEFAULT '';

CREATE TABLE credential_bindings (
    vault_id   TEXT NOT NULL,
    key        TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    by_agent   INTEGER NOT NULL DEFAULT 0 CHECK (by_agent IN (0, 1)),
    added_by   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (vault_id, key, pattern),
    FOREIGN KEY (vault_id, key) REFERENCES credentials(vault_id, key) ON DELETE CASCADE
);
