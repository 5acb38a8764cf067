package model

import (
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// checkInvalid asserts err is a KindInvalid *errs.Error naming field, both
// in Field and in its message.
func checkInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted; want an error")
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Kind != errs.KindInvalid {
		t.Errorf("Kind = %v, want KindInvalid", e.Kind)
	}
	if e.Field != field {
		t.Errorf("Field = %q, want %q", e.Field, field)
	}
	if !strings.Contains(e.Message, field) {
		t.Errorf("message %q does not name the field %q", e.Message, field)
	}
}

func TestValidateSlug(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"default", true},
		{"abc", true},
		{"my-vault", true},
		{"a1-b2-c3", true},
		{"123", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{"ab", false},
		{strings.Repeat("a", 65), false},
		{"My-Vault", false},
		{"my_vault", false},
		{"my vault", false},
		{"my.vault", false},
		{"-abc", false},
		{"abc-", false},
		{"a--b", false},
		{"---", false},
		{"vault/x", false},
		{"café", false},
		{"abc\n", false},
		{"abc\x00", false},
	}
	for _, c := range cases {
		err := ValidateSlug("name", c.in)
		if c.ok {
			if err != nil {
				t.Errorf("ValidateSlug(%q) = %v, want ok", c.in, err)
			}
			continue
		}
		t.Run(c.in, func(t *testing.T) { checkInvalid(t, err, "name") })
	}
}

func TestValidateSlugMessages(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "required",
		"ab":                    "3 to 64",
		"AB-C":                  "lowercase",
		"-ab":                   "hyphen",
		strings.Repeat("x", 70): "(got 70)",
	} {
		err := ValidateSlug("agent_name", in)
		checkInvalid(t, err, "agent_name")
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateSlug(%q) message %q does not mention %q", in, err, want)
		}
	}
}

func TestValidateVaultName(t *testing.T) {
	for _, ok := range []string{"default", "prod", "team-a", "users-x", "admins"} {
		if err := ValidateVaultName("vault", ok); err != nil {
			t.Errorf("ValidateVaultName(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"users", "admin", "", "x", "Prod", "a--b"} {
		t.Run(bad, func(t *testing.T) { checkInvalid(t, ValidateVaultName("vault", bad), "vault") })
	}
	if err := ValidateVaultName("vault", "admin"); !strings.Contains(err.Error(), "reserved") {
		t.Errorf("reserved name error %q does not say reserved", err)
	}
	// The default vault's name must itself be valid.
	if err := ValidateVaultName("vault", DefaultVault); err != nil {
		t.Errorf("DefaultVault %q is not a valid vault name: %v", DefaultVault, err)
	}
}

func TestValidateCredentialKey(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"STRIPE_KEY", true},
		{"A", true},
		{"A1", true},
		{"A_", true},
		{"SLACK_BOT_TOKEN_2", true},
		{"A" + strings.Repeat("B", 127), true},
		{"A" + strings.Repeat("B", 128), false},
		{"", false},
		{"stripe_key", false},
		{"Stripe_Key", false},
		{"1KEY", false},
		{"_KEY", false},
		{"KEY-NAME", false},
		{"KEY NAME", false},
		{"KEY\n", false},
		{"\nKEY", false},
		{"KEY\nOTHER", false},
		{"KÉY", false},
		{"{{ KEY }}", false},
	}
	for _, c := range cases {
		err := ValidateCredentialKey("key", c.in)
		if c.ok {
			if err != nil {
				t.Errorf("ValidateCredentialKey(%q) = %v, want ok", c.in, err)
			}
			continue
		}
		t.Run(c.in, func(t *testing.T) { checkInvalid(t, err, "key") })
	}
}

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{"  bob@example.org \t", "bob@example.org"},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
		{"a@b.co", "a@b.co"},
	}
	for _, c := range cases {
		got, err := NormalizeEmail("email", c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"",
		"   ",
		"alice",
		"alice@",
		"@example.com",
		"alice@localhost", // no dot in the domain
		"Alice <alice@example.com>",
		"<alice@example.com>",
		"alice@example.com, bob@example.com",
		"alice@@example.com",
		"ali ce@example.com",
		"alice@exa mple.com",
		strings.Repeat("a", 250) + "@example.com", // over 254
	}
	for _, in := range bad {
		t.Run(in, func(t *testing.T) {
			got, err := NormalizeEmail("email", in)
			if got != "" {
				t.Errorf("returned %q alongside an error", got)
			}
			checkInvalid(t, err, "email")
		})
	}
}

func TestNormalizeEmailLengthBoundary(t *testing.T) {
	domain := "@example.com"
	ok := strings.Repeat("a", 64) + "@" + strings.Repeat("b", MaxEmailLen-64-1-4) + ".com"
	if len(ok) != MaxEmailLen {
		t.Fatalf("test setup: len = %d", len(ok))
	}
	if _, err := NormalizeEmail("email", ok); err != nil {
		t.Errorf("%d-byte address rejected: %v", len(ok), err)
	}
	over := strings.Repeat("a", MaxEmailLen+1-len(domain)) + domain
	_, err := NormalizeEmail("email", over)
	checkInvalid(t, err, "email")
	if !strings.Contains(err.Error(), "254") {
		t.Errorf("length error %q does not state the limit", err)
	}
}

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"empty", "", false},
		{"seven", "1234567", false},
		{"eight", "12345678", true},
		{"eight runes multibyte", "ééééé€€€", true},  // 8 runes, 16+ bytes
		{"seven runes many bytes", "€€€€€€€", false}, // 21 bytes, 7 runes
		{"max bytes", strings.Repeat("x", MaxPasswordLen), true},
		{"over max bytes", strings.Repeat("x", MaxPasswordLen+1), false},
		{"over max bytes in runes", strings.Repeat("€", MaxPasswordLen/3+1), false},
		{"spaces count", "        ", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidatePassword("password", c.in)
			if c.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			checkInvalid(t, err, "password")
			if strings.Contains(err.Error(), c.in) && c.in != "" {
				t.Errorf("error message %q echoes the password", err)
			}
		})
	}
}

func TestNonASCIIEmailsAreRejected(t *testing.T) {
	// The Kelvin sign and dotted capital I lower-case onto ASCII letters;
	// accepting them would let two addresses share one account.
	for _, e := range []string{"\u212Aate@example.com", "\u0130nfo@example.com", "jos\u00e9@example.com"} {
		if _, err := NormalizeEmail("email", e); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted", e)
		}
	}
}
