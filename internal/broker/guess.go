package broker

import "github.com/agent-vault/agent-vault/internal/errs"

// WrongGuess reports an answer meaning that a guessable secret (a
// password, a token, an invite link, a reset code) was wrong: the API and
// the pages charge those to the address's failed-login budget, and only
// those.
func WrongGuess(err error) bool {
	if err == nil {
		return false
	}
	switch errs.KindOf(err) {
	case errs.KindUnauthorized, errs.KindNotFound, errs.KindGone:
		return true
	}
	e, ok := errs.As(err)
	return ok && e.Code == codeInvalidReset // a 400, as in the public API
}
