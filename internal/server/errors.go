package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
)

var errInternalPanic = errs.Internal(nil, "handling the request")

func errTooLarge(limit int64) error {
	return &errs.Error{Kind: errs.KindTooLarge, Code: "body_too_large", Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
}

func errMethod(method, allow string) error {
	return &errs.Error{Kind: errs.KindMethod, Code: "method_not_allowed", Message: fmt.Sprintf("method %s is not allowed here; allowed: %s", method, allow)}
}

func errRoute(path string) error {
	return &errs.Error{Kind: errs.KindNotFound, Code: "not_found", Message: fmt.Sprintf("no such endpoint: %s", path)}
}

// writeError is the one place an error becomes a response. Internal causes
// go to the log, never to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := errs.As(err)
	if !ok {
		e = errs.Internal(err, "handling the request")
	}
	status := errs.HTTPStatus(e.Kind)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", logPath(r.URL.Path), "err", err)
	}
	body := apitype.ErrorBody{Error: e.Message, Code: e.Code, Field: e.Field}
	switch d := e.Details.(type) {
	case []apitype.ServiceCandidate:
		body.Candidates = d
	case *apitype.ProposalHint:
		body.ProposalHint = d
	}
	if e.Kind == errs.KindUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agent-vault"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Kind == errs.KindRateLimited && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, status, body)
}

// writeJSON encodes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
