-- Servers sharing this database enforce one rate budget per key (an
-- agent's proxied requests in a vault): each key's budget is one GCRA
-- timestamp (ns on the database's clock), which servers advance in
-- batches ("leases"), not per request. See internal/ratelimit/shared.go
-- and docs/operations.md.
CREATE TABLE rate_budgets (
    key     TEXT PRIMARY KEY,
    tat     BIGINT NOT NULL,
    granted BIGINT NOT NULL
);
CREATE INDEX rate_budgets_tat ON rate_budgets (tat);
