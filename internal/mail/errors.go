package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The steps of the SMTP conversation, as errors name them.
const (
	stepConnect   = "connect"
	stepHandshake = "TLS handshake"
	stepGreeting  = "greeting"
	stepHello     = "EHLO"
	stepStartTLS  = "STARTTLS"
	stepAuth      = "AUTH"
	stepMail      = "MAIL FROM"
	stepRcpt      = "RCPT TO"
	stepData      = "DATA"
)

// Conditions found by looking at the server's EHLO answer.
var (
	errNoStartTLS = errors.New("STARTTLS not offered")
	errNoAuth     = errors.New("AUTH not offered")
)

// noPlainError is a server that offers AUTH, but neither PLAIN nor LOGIN.
type noPlainError struct{ offered string }

func (e *noPlainError) Error() string {
	return "neither AUTH PLAIN nor LOGIN offered (offered: " + e.offered + ")"
}

// fail turns the error of one step into one that says what went wrong and
// what the operator can change. A timeout wraps context.DeadlineExceeded
// and a cancellation context.Canceled, for errors.Is.
func (m *Mailer) fail(ctx context.Context, step string, err error) error {
	at := "the SMTP server at " + m.addr
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		if errors.Is(ctxErr, context.Canceled) {
			return fmt.Errorf("mail: sending through %s was canceled during %s: %w", at, step, context.Canceled)
		}
		return fmt.Errorf("mail: %s did not answer in time (during %s, timeout %s): %s: %w",
			at, step, m.c.Timeout, m.timeoutHint(step), context.DeadlineExceeded)
	}
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var noPlain *noPlainError
	switch {
	case step == stepConnect:
		return fmt.Errorf("mail: cannot connect to %s: %w: check AGENT_VAULT_SMTP_HOST and AGENT_VAULT_SMTP_PORT", at, err)
	case errors.As(err, &certErr) || isX509Error(err):
		return fmt.Errorf("mail: the certificate of %s does not verify: %w: give the server a certificate from a CA this system trusts, or, only for a relay you control, set AGENT_VAULT_SMTP_TLS_SKIP_VERIFY=true", at, err)
	case errors.As(err, &recordErr):
		return fmt.Errorf("mail: %s did not answer in TLS (%w): if it expects a plain connection first (usually port 587), set AGENT_VAULT_SMTP_TLS_MODE=starttls", at, err)
	case errors.Is(err, errNoStartTLS):
		return fmt.Errorf("mail: %s does not offer STARTTLS, so nothing was sent: set AGENT_VAULT_SMTP_TLS_MODE=tls if the port expects TLS from the first byte (usually 465), or none to send without encryption", at)
	case errors.Is(err, errNoAuth):
		return fmt.Errorf("mail: %s does not offer authentication (AUTH), so nothing was sent: unset AGENT_VAULT_SMTP_USERNAME and AGENT_VAULT_SMTP_PASSWORD if it needs no login%s", at, m.noAuthHint())
	case errors.As(err, &noPlain):
		return fmt.Errorf("mail: %s offers AUTH %s but neither PLAIN nor LOGIN, the mechanisms Agent Vault supports, so nothing was sent: enable one of them on the server", at, noPlain.offered)
	case step == stepAuth:
		return fmt.Errorf("mail: %s refused the login: %w: check AGENT_VAULT_SMTP_USERNAME and AGENT_VAULT_SMTP_PASSWORD", at, err)
	case step == stepMail:
		return fmt.Errorf("mail: %s refused the sender %s: %w: check AGENT_VAULT_SMTP_FROM (relays often accept only their own domain or the logged-in user's address)%s", at, m.c.From, err, m.loginHint())
	case strings.HasPrefix(step, stepRcpt):
		return fmt.Errorf("mail: %s refused the recipient %s: %w%s", at, strings.TrimPrefix(step, stepRcpt+" "), err, m.loginHint())
	case step == stepData:
		return fmt.Errorf("mail: %s refused the message: %w", at, err)
	default:
		return fmt.Errorf("mail: %s failed at %s: %w", at, step, err)
	}
}

// timeoutHint suggests the likely cause of a server that stopped answering.
func (m *Mailer) timeoutHint(step string) string {
	switch {
	case step == stepConnect:
		return "check AGENT_VAULT_SMTP_HOST and AGENT_VAULT_SMTP_PORT, and that no firewall drops the connection"
	case step == stepGreeting && m.c.TLSMode != TLSImplicit:
		return "if the port expects TLS from the first byte (usually 465), set AGENT_VAULT_SMTP_TLS_MODE=tls; otherwise check AGENT_VAULT_SMTP_PORT"
	case step == stepHandshake:
		return "check that AGENT_VAULT_SMTP_PORT is the server's TLS port (usually 465), or set AGENT_VAULT_SMTP_TLS_MODE=starttls"
	default:
		return "the server may be overloaded: try again later"
	}
}

// noAuthHint explains that servers commonly hide AUTH until TLS is on.
func (m *Mailer) noAuthHint() string {
	if m.c.TLSMode == TLSNone {
		return ", or use AGENT_VAULT_SMTP_TLS_MODE=starttls or tls: many servers offer AUTH only over TLS"
	}
	return ""
}

// loginHint suggests a login when the server refuses a sender or a
// recipient and none was given: relays commonly do so for strangers.
func (m *Mailer) loginHint() string {
	if m.c.Username == "" {
		return "; if the server requires a login, set AGENT_VAULT_SMTP_USERNAME and AGENT_VAULT_SMTP_PASSWORD"
	}
	return ""
}

// isX509Error reports a certificate that failed verification, in case the
// error arrives without its *tls.CertificateVerificationError wrapper.
func isX509Error(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// redact removes the password from err's text, in plain and in the
// base64 form AUTH PLAIN sends, should a server have echoed it back. The
// result still answers errors.Is for what err wrapped, but does not
// unwrap, so the original text cannot be reached.
func (m *Mailer) redact(err error) error {
	if err == nil || m.c.Password == "" {
		return err
	}
	msg := err.Error()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + m.c.Username + "\x00" + m.c.Password))
	if !strings.Contains(msg, m.c.Password) && !strings.Contains(msg, plain) {
		return err
	}
	msg = strings.ReplaceAll(msg, plain, "[redacted]")
	msg = strings.ReplaceAll(msg, m.c.Password, "[redacted]")
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose text had the password removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets errors.Is see through to the original error without exposing it.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
