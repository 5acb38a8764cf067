-- Each request log segment gets a summary of the values its rows hold
-- (services, actors, hosts, statuses: a Bloom filter, format in
-- internal/store/logsegment/summary.go), written with the segment, so
-- that a filtered listing skips segments that cannot match without
-- decoding them. Segments written before have none and are read as before.
ALTER TABLE request_log_segments ADD COLUMN summary BLOB;

-- The summaries are read through this covering index, never from the
-- table's rows, whose large data column sits before them.
CREATE INDEX request_log_segments_summary ON request_log_segments(vault_id, id, first_id, summary);
