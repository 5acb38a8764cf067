package daemon

import (
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/mail"
)

// newMailer builds the notification mailer from the SMTP settings; nil
// (and "") when email is not configured. desc names the server for logs,
// never the password.
func newMailer(c config.SMTP) (m broker.Mailer, desc string, err error) {
	if !c.Configured() {
		return nil, "", nil
	}
	mm, err := mail.New(mail.Config{
		Host: c.Host, Port: c.Port, Username: c.Username, Password: c.Password,
		From: c.From, FromName: c.FromName, TLSMode: c.TLSMode, SkipVerify: c.SkipVerify,
	})
	if err != nil {
		return nil, "", err
	}
	return mm, mm.Describe(), nil
}
