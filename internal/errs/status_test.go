package errs

import (
	"errors"
	"net/http"
	"testing"
)

// Every kind has its status; an unknown kind and an untyped error are
// internal errors, never a success or a client error.
func TestHTTPStatus(t *testing.T) {
	want := []struct {
		k    Kind
		code int
	}{
		{KindInternal, 500}, {KindInvalid, 400}, {KindUnauthorized, 401}, {KindForbidden, 403}, {KindNotFound, 404},
		{KindConflict, 409}, {KindTooLarge, 413}, {KindRateLimited, 429}, {KindUnavailable, 503}, {KindGone, 410},
		{KindMethod, 405},
	}
	if len(want) != len(httpStatus) {
		t.Fatalf("the table has %d kinds, the test %d: a kind was added without its status here", len(httpStatus), len(want))
	}
	for _, c := range want {
		if got := HTTPStatus(c.k); got != c.code {
			t.Errorf("HTTPStatus(%d) = %d, want %d", c.k, got, c.code)
		}
		if got := StatusOf(&Error{Kind: c.k}); got != c.code {
			t.Errorf("StatusOf(kind %d) = %d, want %d", c.k, got, c.code)
		}
	}
	// The kinds are contiguous from 0: one past the last has no status.
	for k := Kind(0); k <= KindMethod; k++ {
		if _, ok := httpStatus[k]; !ok {
			t.Errorf("kind %d has no status", k)
		}
	}
	if got := HTTPStatus(KindMethod + 1); got != http.StatusInternalServerError {
		t.Errorf("an unknown kind maps to %d", got)
	}
	if got := StatusOf(errors.New("disk on fire")); got != http.StatusInternalServerError {
		t.Errorf("an untyped error maps to %d", got)
	}
}
