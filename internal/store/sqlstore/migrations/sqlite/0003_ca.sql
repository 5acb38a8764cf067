-- The broker proxy's root CA: the certificate, and its private key sealed
-- with the data encryption key.
CREATE TABLE ca (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cert_pem   BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    created_at TEXT NOT NULL
);
