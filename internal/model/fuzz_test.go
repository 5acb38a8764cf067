package model

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// fuzzInvalid asserts a rejection is a KindInvalid error naming field.
func fuzzInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid || e.Field != field {
		t.Fatalf("rejection %v is not an invalid-input error for field %q", err, field)
	}
}

func FuzzValidateVaultName(f *testing.F) {
	for _, s := range []string{"default", "my-vault", "users", "admin", "", "ab", "a--b", "-a-", "UPPER", "é-vault", strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateVaultName("vault", s)
		if err != nil {
			fuzzInvalid(t, err, "vault")
			return
		}
		// Accepted names are slugs of the documented shape, not reserved,
		// and validate again (as a slug and as a vault name).
		if len(s) < MinNameLen || len(s) > MaxNameLen {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("accepted %q containing %q", s, c)
			}
		}
		if strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("accepted %q with a bad hyphen", s)
		}
		if s == "users" || s == "admin" {
			t.Fatalf("accepted reserved %q", s)
		}
		if ValidateSlug("x", s) != nil || ValidateVaultName("other", s) != nil {
			t.Fatalf("accepted %q does not re-validate", s)
		}
	})
}

func FuzzValidateCredentialKey(f *testing.F) {
	for _, s := range []string{"STRIPE_KEY", "A", "a", "_A", "1A", "A\n", "A-B", "", strings.Repeat("A", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// An independent statement of the key grammar ^[A-Z][A-Z0-9_]*$ plus the
		// 128-character limit.
		want := s != "" && len(s) <= 128 && s[0] >= 'A' && s[0] <= 'Z'
		for i := 1; want && i < len(s); i++ {
			c := s[i]
			want = c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		}
		err := ValidateCredentialKey("key", s)
		if (err == nil) != want {
			t.Fatalf("ValidateCredentialKey(%q) = %v, want accepted=%v", s, err, want)
		}
		if err != nil {
			fuzzInvalid(t, err, "key")
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "ALICE@EXAMPLE.COM", " a@b.co ", "a@b", "a <a@b.co>",
		"\"a b\"@example.com", "a@[127.0.0.1]", "a@b.c.", "ü@example.com", "İ@example.com",
		"a@b.co\n", "", "@", "a@@b.co",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeEmail("email", s)
		if err != nil {
			if out != "" {
				t.Fatalf("returned %q with error %v", out, err)
			}
			fuzzInvalid(t, err, "email")
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("NormalizeEmail(%q) = %q: not UTF-8", s, out)
		}
		if out != strings.ToLower(out) {
			t.Fatalf("NormalizeEmail(%q) = %q: not lowercase", s, out)
		}
		if out != strings.TrimSpace(out) || strings.ContainsAny(out, " \t\r\n<>,") {
			t.Fatalf("NormalizeEmail(%q) = %q: contains space or list/display syntax", s, out)
		}
		at := strings.LastIndexByte(out, '@')
		if at <= 0 || at == len(out)-1 || !strings.Contains(out[at+1:], ".") {
			t.Fatalf("NormalizeEmail(%q) = %q: not local@domain.tld", s, out)
		}
		// Normalizing is idempotent: a stored address re-validates to itself,
		// so looking a user up by their stored email always works.
		again, err := NormalizeEmail("email", out)
		if err != nil || again != out {
			t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q, %v", s, out, out, again, err)
		}
		if len(out) > MaxEmailLen {
			t.Fatalf("NormalizeEmail(%q) = %q: %d bytes, over %d", s, out, len(out), MaxEmailLen)
		}
	})
}
