-- Pending self-registrations (see SQLite's 0011_email_verifications.sql).
CREATE TABLE email_verifications (
    id            ctext PRIMARY KEY,
    email         ctext NOT NULL,
    password_hash ctext NOT NULL,
    code_hash     BYTEA NOT NULL,
    created_at    ctext NOT NULL,
    expires_at    ctext NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    used_at       ctext
);
CREATE INDEX email_verifications_email ON email_verifications(email);
