package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// TLS modes, the values of Config.TLSMode (and AGENT_VAULT_SMTP_TLS_MODE).
const (
	// TLSStartTLS, the default, connects in plain text and requires
	// STARTTLS before authenticating or sending: a server that does not
	// offer it is refused rather than spoken to in clear.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte, as on port 465.
	TLSImplicit = "tls"
	// TLSNone never uses TLS. net/smtp's PlainAuth then sends a password
	// only to localhost, and New refuses credentials for any other host.
	TLSNone = "none"
)

// The defaults for a zero Config.Port and Config.Timeout.
const (
	defaultPort    = 587 // submission, for starttls and none
	defaultTLSPort = 465 // submissions, for tls
	defaultTimeout = 15 * time.Second
)

// Config says how to reach the SMTP server. The zero values of the optional
// fields are the sensible choice for a relay with a public certificate.
type Config struct {
	Host       string         // required: a host name or IP address, no port
	Port       int            // 0 means 587 for starttls and none, 465 for tls
	Username   string         // "" means no AUTH
	Password   string         // never logged nor put in an error
	From       string         // required: a bare address like vault@example.com
	FromName   string         // optional display name, e.g. "Agent Vault"
	TLSMode    string         // TLSStartTLS, TLSImplicit or TLSNone; "" means TLSStartTLS
	SkipVerify bool           // do not verify the server certificate (tests, self-signed relays)
	RootCAs    *x509.CertPool // the CAs that may sign the server certificate; nil means the system roots
	Timeout    time.Duration  // bounds the whole Send (dial, TLS, conversation); 0 means 15 s
}

// Mailer sends messages as its Config says. It holds no connection (each
// Send dials anew, since notifications are rare) and is safe for
// concurrent use.
type Mailer struct {
	c    Config        // validated, with defaults filled in
	addr string        // host:port
	tls  *tls.Config   // for starttls and tls
	from *mail.Address // the From header
}

// New validates c and returns a Mailer. It checks everything that can be
// checked without the network, so that a mistake shows at startup rather
// than at the first invite; errors name the environment variable at fault.
func New(c Config) (*Mailer, error) {
	if err := check(&c); err != nil {
		return nil, err
	}
	m := &Mailer{
		c:    c,
		addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		from: &mail.Address{Name: c.FromName, Address: c.From},
	}
	if c.TLSMode != TLSNone {
		m.tls = &tls.Config{
			ServerName:         c.Host,
			RootCAs:            c.RootCAs,
			InsecureSkipVerify: c.SkipVerify, // the operator's explicit choice
			MinVersion:         tls.VersionTLS12,
		}
	}
	return m, nil
}

// Describe says where mail goes, for logs and the test-email answer, as in
// "smtp.example.com:587 (starttls) as vault@example.com". It never includes
// the password.
func (m *Mailer) Describe() string {
	return fmt.Sprintf("%s (%s) as %s", m.addr, m.c.TLSMode, m.c.From)
}

// check validates c and fills in the defaults.
func check(c *Config) error {
	switch {
	case c.Host == "":
		return errors.New("mail: AGENT_VAULT_SMTP_HOST is required: set it to your SMTP server's host name, like smtp.example.com")
	case strings.ContainsAny(c.Host, " /@") || strings.ContainsFunc(c.Host, isControl),
		strings.Contains(c.Host, ":") && net.ParseIP(c.Host) == nil: // a port, or a URL
		return fmt.Errorf("mail: AGENT_VAULT_SMTP_HOST must be a bare host name like smtp.example.com, not %q: put the port in AGENT_VAULT_SMTP_PORT", c.Host)
	}
	switch c.TLSMode {
	case "":
		c.TLSMode = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("mail: AGENT_VAULT_SMTP_TLS_MODE must be starttls, tls or none, not %q", c.TLSMode)
	}
	switch {
	case c.Port == 0 && c.TLSMode == TLSImplicit:
		c.Port = defaultTLSPort
	case c.Port == 0:
		c.Port = defaultPort
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("mail: AGENT_VAULT_SMTP_PORT must be a port number from 1 to 65535, not %d", c.Port)
	}
	if err := checkFrom(c.From, c.FromName); err != nil {
		return err
	}
	if c.Username == "" && c.Password != "" {
		return errors.New("mail: AGENT_VAULT_SMTP_PASSWORD is set but AGENT_VAULT_SMTP_USERNAME is not: set the username too, or unset the password to send without authentication")
	}
	if c.Username != "" && c.TLSMode == TLSNone && !isLocalhost(c.Host) {
		return fmt.Errorf("mail: AGENT_VAULT_SMTP_TLS_MODE=none would send the SMTP password in clear to %s, which is allowed only to localhost: use starttls or tls, or unset AGENT_VAULT_SMTP_USERNAME", c.Host)
	}
	if strings.ContainsAny(c.Username, "\r\n\x00") {
		return errors.New("mail: AGENT_VAULT_SMTP_USERNAME must be one line of text")
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("mail: the SMTP timeout must be positive, not %s", c.Timeout)
	case c.Timeout == 0:
		c.Timeout = defaultTimeout
	}
	return nil
}

// checkFrom accepts only a bare address, so that the envelope sender and
// the From header agree, and a one-line display name.
func checkFrom(from, name string) error {
	if from == "" {
		return errors.New("mail: AGENT_VAULT_SMTP_FROM is required: set it to the sender address, like vault@example.com")
	}
	if !isBareAddress(from) {
		return fmt.Errorf("mail: AGENT_VAULT_SMTP_FROM must be an email address like vault@example.com, not %q (a display name goes in AGENT_VAULT_SMTP_FROM_NAME)", from)
	}
	if strings.ContainsFunc(name, isControl) {
		return errors.New("mail: AGENT_VAULT_SMTP_FROM_NAME must be one line of text, without control characters")
	}
	return nil
}

// isLocalhost is net/smtp's rule for where PlainAuth may send a password
// without TLS.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// isControl reports the characters that may not appear in a header value;
// CR and LF among them would let a value start a new header.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f
}
