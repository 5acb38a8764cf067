package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/errs"
)

// open wraps a public handler that needs no budget (health, status, the
// CA, the catalog and the skill: cheap, secret-free reads).
func (s *Server) open(status int, fn func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := fn(r)
		s.respond(w, r, status, out, err)
	})
}

// guarded wraps a public handler that checks a guessable secret (login,
// invite acceptance): failures spend the address's failure budget.
func (s *Server) guarded(status int, fn func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowAnonymous(w, r) {
			return
		}
		done, ok := s.guardedAttempt(w, r)
		if !ok {
			return
		}
		out, err := fn(r)
		done(err)
		s.respond(w, r, status, out, err)
	})
}

// authed wraps a handler that needs an authenticated actor. A bad token
// spends the address's failure budget (429 once it is exhausted); a good
// one spends the actor's control-plane budget.
func (s *Server) authed(status int, fn func(r *http.Request, a broker.Actor) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.b.Authenticate(r.Context(), bearer(r))
		if err != nil {
			if blocked, retry := s.authFailed(r); blocked && errs.Is(err, errs.KindUnauthorized) {
				s.tooMany(w, r, retry, "failed authentications from this address")
				return
			}
			s.writeError(w, r, err)
			return
		}
		if !s.allowActor(w, r, a) {
			return
		}
		out, err := fn(r, a)
		if errs.Is(err, errs.KindForbidden) && r.Method != http.MethodGet {
			s.b.RecordRefusal(r.Context(), a, r.Pattern, r.PathValue("name"), err) // the admin audit trail
		}
		s.respond(w, r, status, out, err)
	})
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, out any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, out)
}

// bearer returns the request's token from the Authorization header. The
// JSON API never authenticates by cookie: the browser pages (internal/web)
// use the session cookie with their own CSRF checks, so a cross-site
// request can never ride a cookie into the API.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// body decodes the request into a fresh In and calls fn with it.
func body[In, Out any](r *http.Request, fn func(context.Context, In) (Out, error)) (any, error) {
	var in In
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	return fn(r.Context(), in)
}

// optionalBody is body for requests whose body may be left out entirely
// (then fn gets the zero In).
func optionalBody[In, Out any](r *http.Request, fn func(context.Context, In) (Out, error)) (any, error) {
	var in In
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return nil, err
		}
	}
	return fn(r.Context(), in)
}

// pathValue reads a named path segment; empty segments are a 404 upstream
// of here, so only length is checked.
func pathValue(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if len(v) > 320 {
		return "", errs.Invalid(name, "%s is too long", name)
	}
	return v, nil
}
