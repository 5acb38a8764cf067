-- Authorization-code flows in progress (see SQLite's 0013_oauth_states.sql).
CREATE TABLE oauth_states (
    id             ctext PRIMARY KEY,
    state_hash     BYTEA NOT NULL UNIQUE,
    user_id        ctext NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vault_id       ctext NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    credential_key ctext NOT NULL,
    sealed         BYTEA NOT NULL,
    created_at     ctext NOT NULL,
    expires_at     ctext NOT NULL
);
CREATE INDEX oauth_states_user ON oauth_states(user_id);
CREATE INDEX oauth_states_expiry ON oauth_states(expires_at);
