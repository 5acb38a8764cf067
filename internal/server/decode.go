package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// decode reads one JSON object from the body into v. Errors name the field
// at fault where the decoder knows it; bodies over the limit become 413.
// Unknown fields are ignored so that newer clients keep working.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			if e := decodeError(err); errs.Is(e, errs.KindTooLarge) {
				return e
			}
		}
		return errs.Invalid("body", "request body must hold exactly one JSON object")
	}
	// PostgreSQL stores no NUL character in text, and no name, email,
	// message or value of ours needs one: refuse it here, not with a 500.
	if hasNULEscape(raw) {
		return errs.Invalid("body", `text in the request body may not contain NUL characters (\u0000)`)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// hasNULEscape reports whether a JSON text holds the escape \u0000 (a raw
// NUL byte is not valid JSON at all). Escapes are skipped whole, so that
// an escaped backslash followed by "u0000" does not count.
func hasNULEscape(js []byte) bool {
	for i := 0; i < len(js); i++ {
		if js[i] != '\\' || i+1 >= len(js) {
			continue
		}
		if js[i+1] == 'u' && i+5 < len(js) && string(js[i+2:i+6]) == "0000" {
			return true
		}
		i++ // the escaped character
	}
	return false
}

// decodeError turns a JSON decoding failure into a typed error.
func decodeError(err error) error {
	var (
		tooBig *http.MaxBytesError
		typ    *json.UnmarshalTypeError
		syn    *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return errTooLarge(tooBig.Limit)
	case errors.Is(err, io.EOF):
		return errs.Invalid("body", "request body is empty: send a JSON object")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errs.Invalid("body", "request body must be a JSON object, not %s", typ.Value)
		}
		return errs.Invalid(field, "field %q must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &syn):
		return errs.Invalid("body", "request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid("body", "request body is truncated JSON")
	}
	return errs.Invalid("body", "request body is not valid JSON")
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "an array"
	case k == "struct", k == "map":
		return "an object"
	case k == "ptr":
		return "a value"
	}
	return "a " + k
}
