-- The request log moves from one table row per proxied request to
-- segments: one row holds up to 256 log rows of one vault as a blob
-- (format in internal/store/logsegment). Writing a segment binds one value where a
-- row bound sixteen per request, which was most of the log's cost.
CREATE TABLE request_log_segments (
    id       INTEGER PRIMARY KEY, -- the id of the segment's newest log row
    vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    first_id INTEGER NOT NULL,    -- the id of its oldest log row
    rows     INTEGER NOT NULL,
    min_at   TEXT NOT NULL,       -- the earliest and latest row times,
    max_at   TEXT NOT NULL,       -- to skip segments outside a time range
    data     BLOB NOT NULL
);
CREATE INDEX request_log_segments_vault ON request_log_segments(vault_id, id);

-- Log row ids come from this counter, not from a table's rowid, so that
-- they never go back even when retention empties the log: a follower's
-- cursor (after=<id>) stays valid.
CREATE TABLE request_log_seq (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL
);
INSERT INTO request_log_seq (one, last_id)
    SELECT 1, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'request_logs'), 0);

-- Hosts agents reached that no service matched, counted as rows are
-- written (the log's rows may be trimmed long before a host stops being
-- interesting). Age retention removes hosts not seen within the window.
CREATE TABLE discovered_hosts (
    vault_id  TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    host      TEXT NOT NULL,
    port      INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (vault_id, host, port)
) WITHOUT ROWID;
INSERT INTO discovered_hosts (vault_id, host, port, count, last_seen)
    SELECT vault_id, host, port, COUNT(*), MAX(at) FROM request_logs WHERE service = ''
    GROUP BY vault_id, host, port;

-- The rows of request_logs are moved into segments by the Go step of this
-- migration (convertRequestLogs), which then drops the table.
