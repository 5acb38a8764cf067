package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// tooMany answers 429 with Retry-After.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, retry time.Duration, what string) {
	w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(retry)))
	s.writeError(w, r, &errs.Error{Kind: errs.KindRateLimited, Code: "rate_limited",
		Message: "too many " + what + ": retry in " + strconv.Itoa(ratelimit.RetryAfterSeconds(retry)) + "s"})
}

// clientKey is the rate-limit key of the request's client address.
func (s *Server) clientKey(r *http.Request) string {
	return ratelimit.IPKey(ratelimit.ClientIP(r, s.trusted))
}

// allowAnonymous spends the anonymous budget of the client's address.
func (s *Server) allowAnonymous(w http.ResponseWriter, r *http.Request) bool {
	if s.lim == nil {
		return true
	}
	if ok, retry := s.lim.Allow(ratelimit.TierAuth, s.clientKey(r)); !ok {
		s.tooMany(w, r, retry, "requests from this address")
		return false
	}
	return true
}

// authFailed charges a failed authentication to the client's address and
// reports whether the address is now over its failure budget.
func (s *Server) authFailed(r *http.Request) (bool, time.Duration) {
	if s.lim == nil {
		return false, 0
	}
	return s.lim.Fail(ratelimit.TierAuth, s.clientKey(r))
}

// allowActor spends an authenticated actor's control-plane budget.
func (s *Server) allowActor(w http.ResponseWriter, r *http.Request, a broker.Actor) bool {
	if s.lim == nil {
		return true
	}
	key := a.ID() // not the name: a rename must not refill the budget
	if a.Kind == model.ActorUser && a.SessionID != "" {
		key = "session:" + a.SessionID
	}
	if ok, retry := s.lim.Allow(ratelimit.TierAPI, key); !ok {
		s.tooMany(w, r, retry, "requests for this session")
		return false
	}
	return true
}

// guardedAttempt wraps a check of a guessable secret (a password, an
// invite token): the address's failure budget is reserved before the check
// and refunded when it succeeds, so concurrent guesses cannot outrun it.
func (s *Server) guardedAttempt(w http.ResponseWriter, r *http.Request) (func(error), bool) {
	if s.lim == nil {
		return func(error) {}, true
	}
	done, ok, retry := s.lim.Attempt(ratelimit.TierAuth, s.clientKey(r))
	if !ok {
		s.tooMany(w, r, retry, "failed attempts from this address")
		return nil, false
	}
	return func(err error) { done(!broker.WrongGuess(err)) }, true
}
