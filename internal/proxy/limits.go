package proxy

import (
	"net/http"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// tooMany is the broker's 429 with Retry-After.
func tooMany(retry time.Duration, what string) *brokerError {
	e := fail(http.StatusTooManyRequests, "rate_limited", "too many "+what, "retry after the Retry-After delay")
	e.retryAfter = ratelimit.RetryAfterSeconds(retry)
	return e
}

// admit applies the global ceiling and the (actor, vault) rate and
// concurrency cap, kept under the actor's immutable id so that a rename
// does not refill it; release ends the request's hold.
func (p *Proxy) admit(g *broker.ProxyGrant) (func(), *brokerError) {
	l := p.o.Limiter
	if l == nil {
		return func() {}, nil
	}
	releaseGlobal, ok, retry := l.AcquireGlobal()
	if !ok {
		return nil, tooMany(retry, "requests in flight on this server")
	}
	key := ratelimit.Key(string(g.ActorKind), g.ActorID, g.VaultID)
	if ok, retry := l.Allow(ratelimit.TierProxy, key); !ok {
		releaseGlobal()
		return nil, tooMany(retry, "requests from this agent to vault "+g.VaultName)
	}
	releaseKey, ok, retry := l.Acquire(ratelimit.TierProxy, key)
	if !ok {
		releaseGlobal()
		return nil, tooMany(retry, "concurrent requests from this agent to vault "+g.VaultName)
	}
	return func() { releaseKey(); releaseGlobal() }, nil
}

// authFailed charges a bad proxy credential to the client's address and
// returns a 429 once its failure budget is spent.
func (p *Proxy) authFailed(r *http.Request) *brokerError {
	l := p.o.Limiter
	if l == nil {
		return nil
	}
	if blocked, retry := l.Fail(ratelimit.TierAuth, ratelimit.IPKey(ratelimit.ClientIP(r, p.o.TrustedProxies))); blocked {
		return tooMany(retry, "failed proxy authentications from this address")
	}
	return nil
}
