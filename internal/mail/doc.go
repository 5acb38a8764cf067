// Package mail sends Agent Vault's plain-text notification email (invite
// links, proposal approval links, the test message) through the SMTP
// server the operator configures with the AGENT_VAULT_SMTP_* variables.
//
// It uses only the standard library (net/smtp, crypto/tls, mime,
// net/mail): the broker holds credentials, so its run-time dependencies
// are kept to the ones the Go team maintains.
//
// # Transport security
//
// The default mode, starttls, connects in plain text and upgrades with
// STARTTLS before authenticating or sending; a server that does not offer
// STARTTLS is refused, so a downgrade by an active attacker cannot make
// the password or a message travel in clear. Mode tls speaks TLS from the
// first byte (port 465); mode none never uses TLS and, like net/smtp,
// sends a password only to localhost.
//
// # Errors
//
// Errors say which step failed and what the operator can change, naming
// the environment variable when one is at fault. They never contain the
// SMTP password: even a server that echoes it back has it removed.
package mail
