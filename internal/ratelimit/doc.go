// Package ratelimit owns the request budgets (docs/security-model.md): anonymous and
// authentication endpoints by client IP (TierAuth), authenticated
// control-plane calls by session (TierAPI), proxied requests by
// (actor, vault) with a rate, a burst and a concurrency cap (TierProxy),
// and a global ceiling on requests in flight. Budgets come from a Profile
// (default, strict, loose, off), per-tier overrides
// (AGENT_VAULT_RATELIMIT_<TIER>_<KNOB>, see ParseOverrides) and instance
// settings (Limiter.Update, refused while AGENT_VAULT_RATELIMIT_LOCK holds).
//
// The package reads no environment and writes no responses: callers pass
// maps and options in, and turn a denial into 429 with a Retry-After header
// (RetryAfterSeconds) themselves.
//
// # Algorithms
//
// Rates are enforced with GCRA (the generic cell rate algorithm, a token
// bucket kept as one timestamp per key): a key may spend Burst requests at
// once and then one every 1/Rate seconds; a denial reports exactly when the
// next request would pass. The failure budget of the auth tier (Max
// failures per Window) is a second GCRA that only Fail charges, so a
// successful authentication never spends it. Concurrency caps are counters
// per key; the global ceiling is one atomic counter. Limits are read
// through an atomic pointer, so Update never blocks a request.
//
// # Memory and locking
//
// Each keyed tier has its own store of at most Options.MaxKeys entries,
// split into up to 64 shards by a seeded hash, each behind its own mutex:
// there is no lock shared by all requests. A shard that is full drops an
// entry to make room, preferring one whose budget is fully recovered
// (dropping it loses nothing), then the least recently used one with
// nothing in flight. Entries idle for Options.IdleTTL whose budgets have
// recovered are removed lazily when a new key arrives in their shard, and
// by Sweep, which the daemon calls periodically. Separate stores keep a
// flood of anonymous addresses from evicting the budgets of agents.
//
// # Using it
//
// A proxied request: AcquireGlobal, then Allow(TierProxy, key) and
// Acquire(TierProxy, key) with key = Key(actorType, actorID, vault), and
// call the release functions when the stream ends. Proxy tokens are 256-bit
// and cheap to check, so the proxy should verify the token first; only a
// bad token calls Fail(TierAuth, IPKey(ip)), and when Blocked says the
// address is over its failure budget the proxy answers 429 instead of 407.
// A valid token is never refused by another client's failures on the same
// address (every local agent shares 127.0.0.1).
//
// A password login, whose check is slow and whose secret is guessable,
// should call Attempt before checking, which reserves a failure from the
// budget and refunds it on success; unlike Blocked followed by Fail it
// cannot be outrun by many concurrent guesses.
package ratelimit
