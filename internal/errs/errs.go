// Package errs defines the typed errors every layer returns. One writer in
// the server maps a Kind to an HTTP status and a JSON body; internal causes
// (database text, file paths) are kept for logs and never shown to a client.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the one place that turns it into a response.
type Kind int

// The kinds of error a caller can act on.
const (
	KindInternal     Kind = iota // a bug or an I/O failure; details only in logs
	KindInvalid                  // bad input: 400
	KindUnauthorized             // missing or bad credentials: 401
	KindForbidden                // authenticated but not allowed: 403
	KindNotFound                 // 404
	KindConflict                 // state forbids it (duplicate, last owner): 409
	KindTooLarge                 // body over a limit: 413
	KindRateLimited              // 429
	KindUnavailable              // not ready (e.g. not initialised): 503
	KindGone                     // used up or expired (an accepted invite): 410
	KindMethod                   // the route exists but not for this method: 405
)

// Error is the typed error. Message is safe to show a user; Cause is not.
type Error struct {
	Kind    Kind
	Code    string // stable machine code, e.g. "invalid_name"; optional
	Field   string // the input field at fault, when there is one
	Message string // what went wrong and what to do next; never a secret
	Cause   error  // internal detail for logs only
	// Details is extra structured data for the response body (for example
	// the candidates of an ambiguous reference); the server knows its types.
	Details any
	// RetryAfter, when above 0, is the number of seconds after which the
	// same request may succeed; the writer sends it as Retry-After.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap exposes the internal cause to errors.Is/As.
func (e *Error) Unwrap() error { return e.Cause }

// KindOf reports the Kind of err, KindInternal when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the given Kind.
func Is(err error, k Kind) bool { return KindOf(err) == k }

// Invalid reports bad input in field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_request", Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unauthorized reports missing or bad credentials.
func Unauthorized(format string, args ...any) *Error {
	return &Error{Kind: KindUnauthorized, Code: "unauthorized", Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports an action the caller may not take.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing resource.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Conflict reports a request that the current state forbids.
func Conflict(format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Code: "conflict", Message: fmt.Sprintf(format, args...)}
}

// Gone reports a one-time resource that was used up or has expired.
func Gone(format string, args ...any) *Error {
	return &Error{Kind: KindGone, Code: "gone", Message: fmt.Sprintf(format, args...)}
}

// Busy reports a server too busy to take the request now (503 with
// Retry-After): a bounded resource is in use, nothing is wrong with the
// request.
func Busy(retryAfter int, format string, args ...any) *Error {
	return &Error{Kind: KindUnavailable, Code: "busy", Message: fmt.Sprintf(format, args...), RetryAfter: retryAfter}
}

// Internal wraps an unexpected failure; the message shown is generic.
func Internal(cause error, what string) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Message: "internal error while " + what, Cause: cause}
}

// WithDetails returns a copy of e carrying structured details.
func (e *Error) WithDetails(d any) *Error {
	c := *e
	c.Details = d
	return &c
}

// WithCode returns a copy of e with a specific machine code.
func (e *Error) WithCode(code string) *Error {
	c := *e
	c.Code = code
	return &c
}
