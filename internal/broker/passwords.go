package broker

import (
	"errors"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/password"
)

// errPasswordBusy is the answer when the process-wide bound on Argon2id
// runs (package password) is reached: 503 with Retry-After, and never a
// wrong guess, so it spends no failed-login budget.
func errPasswordBusy() error {
	return errs.Busy(password.RetryAfterSeconds, "the server is busy checking other passwords: try again in a moment")
}

// hashPassword hashes a new password under the process-wide bound.
// Callers check everything else about the request first: a request that
// would be refused anyway must not cost an Argon2id run.
func (b *Broker) hashPassword(pw string) (string, error) {
	h, err := password.Hash([]byte(pw), b.pw)
	if errors.Is(err, password.ErrBusy) {
		return "", errPasswordBusy()
	}
	return h, err
}

// verifyPassword checks pw against a stored hash under the bound; busy is
// an error of its own, anything else that fails is "no".
func verifyPassword(pw, hash string) (ok bool, busy error, verr error) {
	ok, err := password.Verify([]byte(pw), hash)
	if errors.Is(err, password.ErrBusy) {
		return false, errPasswordBusy(), nil
	}
	return ok, nil, err
}
