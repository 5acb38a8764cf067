package errs

import "net/http"

// httpStatus is the one table from an error kind to the HTTP status that
// answers it. The control plane's JSON errors, the browser pages and the
// proxy's broker errors all read it (the proxy then speaks proxy
// authentication: see docs/proxy.md).
var httpStatus = map[Kind]int{
	KindInternal:     http.StatusInternalServerError,
	KindInvalid:      http.StatusBadRequest,
	KindUnauthorized: http.StatusUnauthorized,
	KindForbidden:    http.StatusForbidden,
	KindNotFound:     http.StatusNotFound,
	KindConflict:     http.StatusConflict,
	KindTooLarge:     http.StatusRequestEntityTooLarge,
	KindRateLimited:  http.StatusTooManyRequests,
	KindUnavailable:  http.StatusServiceUnavailable,
	KindGone:         http.StatusGone,
	KindMethod:       http.StatusMethodNotAllowed,
}

// HTTPStatus is the status that answers an error of kind k (500 for a kind
// the table does not know).
func HTTPStatus(k Kind) int {
	if s, ok := httpStatus[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// StatusOf is the status that answers err: its kind's, or 500 for an
// error that is not an *Error.
func StatusOf(err error) int { return HTTPStatus(KindOf(err)) }
