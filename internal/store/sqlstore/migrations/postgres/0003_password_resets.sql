-- Password reset codes (see SQLite's 0007_password_resets.sql).
CREATE TABLE password_resets (
    id         ctext PRIMARY KEY,
    user_id    ctext NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at ctext NOT NULL,
    expires_at ctext NOT NULL,
    failures   BIGINT NOT NULL DEFAULT 0,
    used_at    ctext
);
CREATE INDEX password_resets_user ON password_resets(user_id);
