package broker

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// The first-run gate. While no account exists, whoever registers first
// becomes the instance owner, so a stranger who reaches a fresh port
// before its operator must not be able to: every route that creates the
// first account (the API's register, the CLI's `auth register`, the
// browser's /setup) goes through Register, and Register asks for the
// one-time setup code that the server printed to its terminal and log and
// wrote to a file only its user can read (see docs/web.md, "First run").
// The code is compared in constant time, spent by the owner's creation,
// and a wrong one is a wrong guess (WrongGuess): the API and the pages
// charge it to the address's failed-login budget. Past maxSetupGuesses
// wrong codes in all, from any address, the gate closes until a restart
// makes a new code.

// maxSetupGuesses bounds the wrong setup codes a server takes before its
// gate closes. With about 98 bits of code, guessing is hopeless anyway;
// the bound keeps a flood of guesses from going on unnoticed.
const maxSetupGuesses = 100

// setupAlphabet has no look-alike characters (no 0/O, 1/I/L).
const setupAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// MinSetupCodeLen is the fewest characters (dashes and spaces not
// counted) a setup code chosen by the operator may have.
const MinSetupCodeLen = 16

// NewSetupCode returns a fresh setup code: 20 characters of a
// 31-character alphabet (about 98 bits), in groups of five.
func NewSetupCode() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("broker: no randomness for the setup code: " + err.Error())
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			sb.WriteByte('-')
		}
		// 256 is no multiple of 31: the first 8 letters are a little more
		// likely, which costs well under a bit over the whole code.
		sb.WriteByte(setupAlphabet[int(c)%len(setupAlphabet)])
	}
	return sb.String()
}

// NormalizeSetupCode ignores ASCII case, spaces and dashes, so that a
// code copied with or without its grouping works.
func NormalizeSetupCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// firstRun is the gate's state. A broker whose gate was never armed
// (armed false: in-process tests and embedders that create the first
// account themselves) lets Register create the owner without a code; the
// daemon arms it before it serves anything.
type firstRun struct {
	mu     sync.Mutex
	armed  bool
	hash   [32]byte // SHA-256 of the normalized code
	open   bool     // a code is set and not yet spent
	wrong  int      // wrong codes tried
	onUsed func()   // called once the owner exists (removes the code file)
}

// ArmFirstRun makes Register require code for the first account; onUsed
// (may be nil) runs once, after the owner account is created with it. An
// empty code closes the gate: this server creates no first account (it
// started with accounts; a restart makes a new code if none is left).
func (b *Broker) ArmFirstRun(code string, onUsed func()) {
	g := &b.firstRun
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.wrong, g.onUsed = true, 0, onUsed
	n := NormalizeSetupCode(code)
	g.open = n != ""
	g.hash = sha256.Sum256([]byte(n))
}

// FirstRunOpen reports whether a setup code can still create the owner
// account on this server (the browser's first-run page is offered then).
func (b *Broker) FirstRunOpen() bool {
	g := &b.firstRun
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.armed && g.open && g.wrong < maxSetupGuesses
}

// whereTheCodeIs tells a person where to find the setup code; it names no
// path of the server's machine.
const whereTheCodeIs = "copy it from the server's terminal or log (the line \"first run: …\", field setup_code) or from the file setup-code in the server's data directory"

// checkSetupCode lets the first account be created with code, or says
// why not; count charges a wrong code to the gate (once per request).
func (b *Broker) checkSetupCode(code string, count bool) error {
	g := &b.firstRun
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.armed {
		return nil
	}
	if !g.open {
		return errs.Forbidden("this server started while accounts existed, so it creates no owner account: restart it to get a new one-time setup code").WithCode("setup_closed")
	}
	if g.wrong >= maxSetupGuesses {
		return errs.Forbidden("too many wrong setup codes were tried on this server, so its setup code no longer works: restart the server to get a new one").WithCode("setup_locked")
	}
	n := NormalizeSetupCode(code)
	typed := sha256.Sum256([]byte(n))
	if n != "" && subtle.ConstantTimeCompare(typed[:], g.hash[:]) == 1 {
		return nil
	}
	if count {
		g.wrong++
		b.log.Warn("first run: a wrong setup code was tried", "wrong_codes", g.wrong, "max", maxSetupGuesses)
	}
	if n == "" {
		return errs.Unauthorized("this instance has no account yet, and creating the first (owner) account needs the one-time setup code: " + whereTheCodeIs +
			"; then run `agent-vault auth register --setup-code CODE` (or set AGENT_VAULT_SETUP_CODE), or send it as setup_code in POST /v1/auth/register").WithCode("setup_code_required")
	}
	return errs.Unauthorized("the setup code is wrong: " + whereTheCodeIs + " (a server without accounts makes a new code each time it starts)").WithCode("invalid_setup_code")
}

// setupUsed spends the code: the owner account exists.
func (b *Broker) setupUsed() {
	g := &b.firstRun
	g.mu.Lock()
	wasOpen, onUsed := g.armed && g.open, g.onUsed
	g.open, g.onUsed = false, nil
	g.mu.Unlock()
	if wasOpen && onUsed != nil {
		onUsed()
	}
}
