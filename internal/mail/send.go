package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Send delivers one plain-text message to every address in to, in one SMTP
// transaction with one RCPT each; every recipient sees the whole To list.
//
// It refuses, before connecting, an empty list, a recipient that is not a
// single bare address and a subject with a line break, since each could
// inject headers. It gives up when ctx is done or Config.Timeout has passed
// since the call, whichever is first, at any step: dial, TLS handshake or
// the conversation. A nil error means the server accepted the message for
// every recipient.
func (m *Mailer) Send(ctx context.Context, to []string, subject, text string) error {
	if err := checkRecipients(to); err != nil {
		return err
	}
	if err := checkSubject(subject); err != nil {
		return err
	}
	msg := m.message(to, subject, text, time.Now())
	ctx, cancel := context.WithTimeout(ctx, m.c.Timeout)
	defer cancel()
	return m.redact(m.deliver(ctx, to, msg))
}

// deliver runs the SMTP conversation. Every network step is bounded by a
// deadline on the connection, which ctx moves to now when it is done, so
// a server that stops answering cannot hold Send past its time.
func (m *Mailer) deliver(ctx context.Context, to []string, msg []byte) error {
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return m.fail(ctx, stepConnect, err)
	}
	defer raw.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := raw
	if m.c.TLSMode == TLSImplicit {
		tc := tls.Client(raw, m.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return m.fail(ctx, stepHandshake, err)
		}
		conn = tc // net/smtp sees a *tls.Conn and knows the session is encrypted
	}
	c, err := smtp.NewClient(conn, m.c.Host)
	if err != nil {
		return m.fail(ctx, stepGreeting, err)
	}
	if err := c.Hello(helloName(raw)); err != nil {
		return m.fail(ctx, stepHello, err)
	}
	if m.c.TLSMode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			_ = c.Quit()
			return m.fail(ctx, stepStartTLS, errNoStartTLS)
		}
		if err := c.StartTLS(m.tls); err != nil {
			return m.fail(ctx, stepStartTLS, err)
		}
	}
	if m.c.Username != "" {
		if err := m.auth(c); err != nil {
			return m.fail(ctx, stepAuth, err)
		}
	}
	if err := c.Mail(m.c.From); err != nil {
		return m.fail(ctx, stepMail, err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return m.fail(ctx, stepRcpt+" "+rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return m.fail(ctx, stepData, err)
	}
	if _, err := w.Write(msg); err != nil {
		return m.fail(ctx, stepData, err)
	}
	if err := w.Close(); err != nil { // the server's verdict on the message
		return m.fail(ctx, stepData, err)
	}
	_ = c.Quit() // the message is accepted; a failed goodbye changes nothing
	return nil
}

// auth logs in with PLAIN, which every submission server supports, or
// LOGIN for servers that offer only that (Microsoft 365, some relays),
// after checking what the server offers, to fail with a clear message
// rather than a 504.
func (m *Mailer) auth(c *smtp.Client) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errNoAuth
	}
	switch {
	case hasWord(mechs, "PLAIN"):
		return c.Auth(smtp.PlainAuth("", m.c.Username, m.c.Password, m.c.Host))
	case hasWord(mechs, "LOGIN"):
		return c.Auth(&loginAuth{user: m.c.Username, pass: m.c.Password, host: m.c.Host})
	}
	return &noPlainError{offered: mechs}
}

// loginAuth is the LOGIN mechanism (a username and a password, each
// asked for by the server), with PlainAuth's rule: the password goes only
// over TLS or to localhost, and only to the configured host.
type loginAuth struct{ user, pass, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:", "user name":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, errors.New("the server asked an unexpected question during AUTH LOGIN")
}

// helloName is the name given in EHLO: the address literal of our end of
// the connection, as RFC 5321 asks of a client without a domain name of
// its own, rather than "localhost", which strict relays refuse.
func helloName(conn net.Conn) string {
	a, ok := conn.LocalAddr().(*net.TCPAddr)
	if !ok {
		return "localhost"
	}
	if ip := a.IP.To4(); ip != nil {
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + a.IP.String() + "]"
}

// hasWord reports whether the space-separated list has w, ignoring case.
func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}
