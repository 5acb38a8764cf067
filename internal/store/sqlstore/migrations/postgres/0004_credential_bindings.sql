-- Credential host binding (see SQLite's 0008_credential_bindings.sql).
ALTER TABLE credentials ADD COLUMN written_by ctext NOT NULL DEFAULT '';

CREATE TABLE credential_bindings (
    vault_id   ctext NOT NULL,
    key        ctext NOT NULL,
    pattern    ctext NOT NULL,
    by_agent   INTEGER NOT NULL DEFAULT 0 CHECK (by_agent IN (0, 1)),
    added_by   ctext NOT NULL,
    created_at ctext NOT NULL,
    PRIMARY KEY (vault_id, key, pattern),
    FOREIGN KEY (vault_id, key) REFERENCES credentials(vault_id, key) ON DELETE CASCADE
);
