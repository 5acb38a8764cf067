-- One row per proxied request and per blind tunnel. Never a value, a body
-- or a query value: the path is stored without its query.
CREATE TABLE request_logs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    vault_id        TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    at              TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_name      TEXT NOT NULL,
    ingress         TEXT NOT NULL,
    method          TEXT NOT NULL,
    host            TEXT NOT NULL,
    port            INTEGER NOT NULL,
    path            TEXT NOT NULL,
    service         TEXT NOT NULL DEFAULT '',
    credential_keys TEXT NOT NULL DEFAULT '',
    status          INTEGER NOT NULL,
    req_bytes       INTEGER NOT NULL,
    resp_bytes      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    error_code      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_logs_vault_id ON request_logs(vault_id, id);
-- No index on `at`: rows are written in time order, so age retention
-- walks the primary key from the oldest row (see DeleteBefore), and every
-- insert maintains one index fewer.
CREATE INDEX request_logs_unmatched ON request_logs(vault_id, host) WHERE service = '';
