package config

import (
	"net/mail"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// SMTP environment variables (docs/operations.md, "Email").
const (
	EnvSMTPHost       = "AGENT_VAULT_SMTP_HOST"
	EnvSMTPPort       = "AGENT_VAULT_SMTP_PORT"
	EnvSMTPUsername   = "AGENT_VAULT_SMTP_USERNAME"
	EnvSMTPPassword   = "AGENT_VAULT_SMTP_PASSWORD"
	EnvSMTPFrom       = "AGENT_VAULT_SMTP_FROM"
	EnvSMTPFromName   = "AGENT_VAULT_SMTP_FROM_NAME"
	EnvSMTPTLSMode    = "AGENT_VAULT_SMTP_TLS_MODE"
	EnvSMTPSkipVerify = "AGENT_VAULT_SMTP_TLS_SKIP_VERIFY"
)

// SMTP is where notification email goes; Host empty means no email.
type SMTP struct {
	Host, Username, Password, From, FromName string
	Port                                     int    // 0: the mode's default
	TLSMode                                  string // starttls (default), tls, none
	SkipVerify                               bool
}

// Configured reports whether email is sent at all.
func (s SMTP) Configured() bool { return s.Host != "" }

// LoadSMTP reads the AGENT_VAULT_SMTP_* variables. Errors name the
// variable at fault and never quote the password.
func LoadSMTP(env Env) (SMTP, error) {
	s := SMTP{
		Host: strings.TrimSpace(env(EnvSMTPHost)), Username: env(EnvSMTPUsername), Password: env(EnvSMTPPassword),
		From: strings.TrimSpace(env(EnvSMTPFrom)), FromName: strings.TrimSpace(env(EnvSMTPFromName)),
		TLSMode: strings.ToLower(strings.TrimSpace(env(EnvSMTPTLSMode))),
	}
	if s.Host == "" {
		for _, n := range []string{EnvSMTPPort, EnvSMTPUsername, EnvSMTPPassword, EnvSMTPFrom, EnvSMTPTLSMode} {
			if env(n) != "" {
				return s, errs.Invalid(EnvSMTPHost, "%s is set but %s is not: set the SMTP server's host name too, or unset the SMTP variables", n, EnvSMTPHost)
			}
		}
		return s, nil
	}
	if v := strings.TrimSpace(env(EnvSMTPPort)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return s, errs.Invalid(EnvSMTPPort, "%s must be a port number from 1 to 65535, not %q", EnvSMTPPort, v)
		}
		s.Port = p
	}
	switch s.TLSMode {
	case "":
		s.TLSMode = "starttls"
	case "starttls", "tls", "none":
	default:
		return s, errs.Invalid(EnvSMTPTLSMode, "%s must be starttls, tls or none, not %q", EnvSMTPTLSMode, s.TLSMode)
	}
	if a, err := mail.ParseAddress(s.From); err != nil || a.Address != s.From {
		return s, errs.Invalid(EnvSMTPFrom, "%s must be a bare email address like vault@example.com (the display name goes in %s)", EnvSMTPFrom, EnvSMTPFromName)
	}
	if strings.ContainsAny(s.FromName, "\r\n") {
		return s, errs.Invalid(EnvSMTPFromName, "%s must be one line", EnvSMTPFromName)
	}
	if v := strings.TrimSpace(env(EnvSMTPSkipVerify)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, errs.Invalid(EnvSMTPSkipVerify, "%s must be true or false, not %q", EnvSMTPSkipVerify, v)
		}
		s.SkipVerify = b
	}
	return s, nil
}
