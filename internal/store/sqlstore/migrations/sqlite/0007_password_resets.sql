-- Password reset codes (POST /v1/auth/forgot-password, reset-password):
-- six digits emailed to the user, stored only as a hash, valid 15 minutes,
-- used once, void after a few wrong tries.
CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    used_at    TEXT
);
CREATE INDEX password_resets_user ON password_resets(user_id);
