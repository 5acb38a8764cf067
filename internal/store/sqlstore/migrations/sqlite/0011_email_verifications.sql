-- Pending self-registrations awaiting their emailed code (POST
-- /v1/auth/register when the server sends email, then /v1/auth/verify).
-- No account exists until a code is verified: each row holds the password
-- hash its registration chose and a hash of its six-digit code, valid 15
-- minutes, void after a few wrong tries.
CREATE TABLE email_verifications (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    code_hash     BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    used_at       TEXT
);
CREATE INDEX email_verifications_email ON email_verifications(email);
