package errs

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestConstructors(t *testing.T) {
	cases := []struct {
		name string
		err  *Error
		kind Kind
		code string
		msg  string
	}{
		{"invalid", Invalid("name", "%s is bad (%d)", "name", 3), KindInvalid, "invalid_request", "name is bad (3)"},
		{"unauthorized", Unauthorized("token %s", "expired"), KindUnauthorized, "unauthorized", "token expired"},
		{"forbidden", Forbidden("no %s", "way"), KindForbidden, "forbidden", "no way"},
		{"not found", NotFound("vault %q not found", "x"), KindNotFound, "not_found", `vault "x" not found`},
		{"conflict", Conflict("exists"), KindConflict, "conflict", "exists"},
		{"internal", Internal(io.EOF, "reading"), KindInternal, "internal", "internal error while reading"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err.Kind != c.kind || c.err.Code != c.code || c.err.Message != c.msg {
				t.Errorf("got kind %v code %q message %q", c.err.Kind, c.err.Code, c.err.Message)
			}
		})
	}
	if e := Invalid("email", "x"); e.Field != "email" {
		t.Errorf("Invalid Field = %q", e.Field)
	}
	if e := Forbidden("x"); e.Field != "" {
		t.Errorf("Forbidden has a field %q", e.Field)
	}
}

func TestErrorString(t *testing.T) {
	if got := NotFound("gone").Error(); got != "gone" {
		t.Errorf("Error() = %q", got)
	}
	e := Internal(errors.New("disk I/O error at /var/db"), "saving")
	if got := e.Error(); got != "internal error while saving: disk I/O error at /var/db" {
		t.Errorf("Error() with cause = %q", got)
	}
	// The user-facing message never carries the cause.
	if strings.Contains(e.Message, "/var/db") {
		t.Errorf("Message %q leaks the cause", e.Message)
	}
}

func TestKindOfThroughWrapping(t *testing.T) {
	base := Conflict("duplicate")
	wrapped := fmt.Errorf("creating vault: %w", base)
	twice := fmt.Errorf("handler: %w", wrapped)
	joined := errors.Join(errors.New("other"), twice)
	for name, err := range map[string]error{"direct": base, "wrapped": wrapped, "twice": twice, "joined": joined} {
		if KindOf(err) != KindConflict {
			t.Errorf("%s: KindOf = %v, want KindConflict", name, KindOf(err))
		}
		if !Is(err, KindConflict) || Is(err, KindNotFound) {
			t.Errorf("%s: Is is wrong", name)
		}
		e, ok := As(err)
		if !ok || e != base {
			t.Errorf("%s: As = %v, %v; want the original *Error", name, e, ok)
		}
	}
}

func TestPlainErrorsAreInternal(t *testing.T) {
	for name, err := range map[string]error{
		"plain":       errors.New("boom"),
		"wrapped":     fmt.Errorf("x: %w", io.EOF),
		"not wrapped": fmt.Errorf("x: %v", NotFound("y")), // %v drops the chain
		"nil":         nil,
	} {
		if KindOf(err) != KindInternal {
			t.Errorf("%s: KindOf = %v, want KindInternal", name, KindOf(err))
		}
		if e, ok := As(err); ok || e != nil {
			t.Errorf("%s: As = %v, %v", name, e, ok)
		}
	}
	if !Is(errors.New("x"), KindInternal) {
		t.Error("a plain error is not KindInternal")
	}
}

func TestUnwrapExposesCause(t *testing.T) {
	e := Internal(io.ErrUnexpectedEOF, "reading body")
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Error("errors.Is does not reach the cause")
	}
	if errors.Unwrap(e) != io.ErrUnexpectedEOF {
		t.Error("Unwrap does not return the cause")
	}
	if NotFound("x").Unwrap() != nil {
		t.Error("an error without cause unwraps to something")
	}
	// The outermost typed error wins when errors nest.
	outer := &Error{Kind: KindForbidden, Message: "outer", Cause: NotFound("inner")}
	if KindOf(fmt.Errorf("w: %w", outer)) != KindForbidden {
		t.Error("KindOf does not report the outermost *Error")
	}
}

func TestWithCode(t *testing.T) {
	e := Invalid("name", "bad")
	c := e.WithCode("invalid_name")
	if c.Code != "invalid_name" || c.Kind != KindInvalid || c.Field != "name" || c.Message != "bad" {
		t.Errorf("WithCode = %+v", c)
	}
	if e.Code != "invalid_request" {
		t.Errorf("WithCode changed the original's code to %q", e.Code)
	}
	if c == e {
		t.Error("WithCode returned the same pointer")
	}
}
