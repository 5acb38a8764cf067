package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// strictBody is body for requests where an ignored field would silently
// change nothing the caller expected (instance settings): a field the
// server does not know is a 400 naming it.
func strictBody[In, Out any](r *http.Request, fn func(context.Context, In) (Out, error)) (any, error) {
	var raw json.RawMessage
	if err := decode(r, &raw); err != nil {
		return nil, err
	}
	var in In
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		const prefix = `json: unknown field "`
		if msg := err.Error(); strings.HasPrefix(msg, prefix) {
			field := strings.TrimSuffix(strings.TrimPrefix(msg, prefix), `"`)
			return nil, errs.Invalid(field, "unknown field %q: this server does not have that setting (see docs/compatibility.md), so it would not be applied; remove it", field)
		}
		return nil, decodeError(err)
	}
	return fn(r.Context(), in)
}
