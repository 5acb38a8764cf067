package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
)

// Emailed codes: six random digits mailed to an address to prove that the
// person asking reads its inbox. Email verification (emailverify.go) and
// password reset (passwordreset.go) use them alike:
//
//   - a code is stored only as a hash bound to its kind and its subject
//     (an address, or a user id), so one stored hash matches no other
//     subject's code and no code of the other kind;
//   - it is valid model.PasswordResetTTL and used once;
//   - model.PasswordResetMaxFailures wrong codes void the subject's
//     pending ones, and at most model.PasswordResetMaxPerHour are sent to
//     one subject per hour, so guessing stays hopeless.

// emailCode is one kind of emailed code: how its hash is bound, and the
// mail that carries it.
type emailCode struct {
	domain  string // the hash's prefix: binds a code to its kind
	noun    string // "verification": "the six digits from the verification email"
	subject string // the mail's subject line
	// The mail's sentences: "Someone (probably you) <did> at <URL>.",
	// "It is valid for 15 minutes. <useWith>:" and the command, then
	// <ignore>.
	did, useWith, command, ignore string
}

var (
	verificationCodes = emailCode{
		domain: "agent-vault email verification", noun: "verification", subject: "Your Agent Vault verification code",
		did: "registered this address with Agent Vault", useWith: "Finish with", command: "agent-vault auth verify --email %s",
		ignore: "If it was not you, ignore this message: no account is created without the code.",
	}
	resetCodes = emailCode{
		domain: "agent-vault password reset", noun: "reset", subject: "Your Agent Vault password reset code",
		did: "asked to reset the password of your Agent Vault account", useWith: "Use it with", command: "agent-vault auth reset-password --email %s",
		ignore: "If you did not ask for it, ignore this message: your password stays as it is.",
	}
)

// newEmailCode is six random digits.
func newEmailCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// hash is what is stored of code sent for subject.
func (k emailCode) hash(subject, code string) []byte {
	h := sha256.Sum256([]byte(k.domain + "\x00" + subject + "\x00" + code))
	return h[:]
}

// checkFormat refuses what cannot be a code before any lookup.
func (k emailCode) checkFormat(code string) error {
	if len(code) != 6 || !allDigits(code) {
		return errs.Invalid("code", "code must be the six digits from the %s email", k.noun)
	}
	return nil
}

// capReached reports whether sent codes, counted over the last hour, use
// up the hourly allowance.
func capReached(sent int) bool { return sent >= model.PasswordResetMaxPerHour }

// sinceHour is where the hourly count starts.
func sinceHour(now time.Time) time.Time { return now.Add(-time.Hour) }

// send mails code to address; baseURL names the instance.
func (k emailCode) send(ctx context.Context, m Mailer, baseURL, address, code string) error {
	text := fmt.Sprintf("Someone (probably you) %s at %s.\n\nYour %s code: %s\n\nIt is valid for 15 minutes. %s:\n\n    %s\n\n%s\n",
		k.did, baseURL, k.noun, code, k.useWith, fmt.Sprintf(k.command, address), k.ignore)
	return m.Send(ctx, []string{address}, k.subject, text)
}

// matchCode returns the index of the pending code whose hash is want, or
// -1. It compares every one in constant time, so the answer's timing does
// not tell which (or whether one) matched.
func matchCode[T any](pending []T, hashOf func(*T) []byte, want []byte) int {
	hit := -1
	for i := range pending {
		if subtle.ConstantTimeCompare(hashOf(&pending[i]), want) == 1 {
			hit = i
		}
	}
	return hit
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
