package broker

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// recordingMailer keeps the one message it was given.
type recordingMailer struct{ to, subject, text string }

func (m *recordingMailer) Send(_ context.Context, to []string, subject, text string) error {
	m.to, m.subject, m.text = strings.Join(to, ","), subject, text
	return nil
}

// The two kinds of emailed code: hashes bound to kind and subject (and
// unchanged, so codes pending across an upgrade still match), the mail
// each sends, and the format check.
func TestEmailCodes(t *testing.T) {
	old := func(domain, subject, code string) []byte {
		h := sha256.Sum256([]byte(domain + "\x00" + subject + "\x00" + code))
		return h[:]
	}
	if got, want := verificationCodes.hash("a@example.com", "123456"), old("agent-vault email verification", "a@example.com", "123456"); string(got) != string(want) {
		t.Error("the stored form of a verification code changed: pending codes would stop matching")
	}
	if got, want := resetCodes.hash("u1", "123456"), old("agent-vault password reset", "u1", "123456"); string(got) != string(want) {
		t.Error("the stored form of a reset code changed: pending codes would stop matching")
	}
	if string(verificationCodes.hash("u1", "123456")) == string(resetCodes.hash("u1", "123456")) ||
		string(resetCodes.hash("u1", "123456")) == string(resetCodes.hash("u2", "123456")) {
		t.Error("a code's hash is not bound to its kind and subject")
	}

	for _, tc := range []struct {
		kind emailCode
		want string
		subj string
	}{
		{verificationCodes, "Someone (probably you) registered this address with Agent Vault at https://vault.example.\n\n" +
			"Your verification code: 042042\n\nIt is valid for 15 minutes. Finish with:\n\n    agent-vault auth verify --email a@example.com\n\n" +
			"If it was not you, ignore this message: no account is created without the code.\n", "Your Agent Vault verification code"},
		{resetCodes, "Someone (probably you) asked to reset the password of your Agent Vault account at https://vault.example.\n\n" +
			"Your reset code: 042042\n\nIt is valid for 15 minutes. Use it with:\n\n    agent-vault auth reset-password --email a@example.com\n\n" +
			"If you did not ask for it, ignore this message: your password stays as it is.\n", "Your Agent Vault password reset code"},
	} {
		m := &recordingMailer{}
		if err := tc.kind.send(context.Background(), m, "https://vault.example", "a@example.com", "042042"); err != nil {
			t.Fatal(err)
		}
		if m.to != "a@example.com" || m.subject != tc.subj || m.text != tc.want {
			t.Errorf("%s mail: to %q subject %q\n%s", tc.kind.noun, m.to, m.subject, m.text)
		}
	}

	for code, ok := range map[string]bool{"000000": true, "123456": true, "12345": false, "1234567": false, "12345a": false, "١٢٣٤٥٦": false, "": false} {
		err := resetCodes.checkFormat(code)
		if ok != (err == nil) {
			t.Errorf("checkFormat(%q) = %v", code, err)
		}
		if e, isErr := errs.As(err); err != nil && (!isErr || e.Field != "code" || !strings.Contains(e.Message, "reset email")) {
			t.Errorf("checkFormat(%q): %v", code, err)
		}
	}
	for range 50 {
		c, err := newEmailCode()
		if err != nil || resetCodes.checkFormat(c) != nil {
			t.Fatalf("newEmailCode() = %q, %v", c, err)
		}
	}

	hashes := [][]byte{resetCodes.hash("u1", "111111"), resetCodes.hash("u1", "222222")}
	id := func(h *[]byte) []byte { return *h }
	if i := matchCode(hashes, id, resetCodes.hash("u1", "222222")); i != 1 {
		t.Errorf("matchCode found %d, want 1", i)
	}
	if i := matchCode(hashes, id, resetCodes.hash("u2", "222222")); i != -1 {
		t.Errorf("another subject's code matched (%d)", i)
	}
}
