package service

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// checkInvalid asserts err is a KindInvalid *errs.Error for fieldPath whose
// message starts with the field path and contains every one of want.
func checkInvalid(t *testing.T, err error, fieldPath string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error for %s", fieldPath)
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Kind != errs.KindInvalid {
		t.Errorf("Kind = %v, want KindInvalid", e.Kind)
	}
	if e.Field != fieldPath {
		t.Errorf("Field = %q, want %q (message %q)", e.Field, fieldPath, e.Message)
	}
	if !strings.Contains(e.Message, fieldPath) {
		t.Errorf("message %q does not name the field %q", e.Message, fieldPath)
	}
	for _, w := range want {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message %q does not contain %q", e.Message, w)
		}
	}
}

func mustPattern(t testing.TB, s string) Pattern {
	t.Helper()
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatalf("ParsePattern(%q): %v", s, err)
	}
	return p
}
