-- Authorization-code flows in progress (POST /v1/credentials/oauth/connect,
-- GET /v1/oauth/callback): the hash of the state value sent to the
-- provider, the user who started the flow (only they may complete it), the
-- credential it fills, and its parameters sealed with the keyring (PKCE
-- verifier, provider settings, client secret). A callback deletes its row
-- as it reads it; rows live ten minutes. See docs/oauth.md.
CREATE TABLE oauth_states (
    id             TEXT PRIMARY KEY,
    state_hash     BLOB NOT NULL UNIQUE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vault_id       TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    credential_key TEXT NOT NULL,
    sealed         BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);
CREATE INDEX oauth_states_user ON oauth_states(user_id);
CREATE INDEX oauth_states_expiry ON oauth_states(expires_at);
