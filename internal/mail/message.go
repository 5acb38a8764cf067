package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// checkRecipients refuses anything but a non-empty list of bare
// addresses: a display name, a comment, a second address or a line break
// in one could add headers or recipients nobody asked for.
func checkRecipients(to []string) error {
	if len(to) == 0 {
		return errors.New("mail: no recipient: give at least one email address")
	}
	for _, a := range to {
		if !isBareAddress(a) {
			return fmt.Errorf("mail: recipient %q is not a single email address like someone@example.com", a)
		}
	}
	return nil
}

// checkSubject refuses a subject that could start a new header.
func checkSubject(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return errors.New("mail: the subject must be one line: it contains a line break")
	}
	return nil
}

// isBareAddress reports whether s is exactly one address with nothing
// around it: net/mail parses it back to s itself, with no display name.
func isBareAddress(s string) bool {
	if strings.ContainsFunc(s, isControl) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// message renders one plain-text message with CRLF line endings: the
// headers, then the body in quoted-printable, which keeps every line
// 7-bit and at most 76 characters whatever the text holds.
func (m *Mailer) message(to []string, subject, text string, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", m.from.String())
	header("To", addressList(to))
	header("Subject", encodeSubject(subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(m.c.From))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	b.Write(encodeBody(text))
	return b.Bytes()
}

// addressList renders the To header, one address per folded line so that
// a long list keeps within the line length limit.
func addressList(to []string) string {
	parts := make([]string, len(to))
	for i, a := range to {
		parts[i] = (&mail.Address{Address: a}).String()
	}
	return strings.Join(parts, ",\r\n ")
}

// encodeSubject Q-encodes a subject that is not plain ASCII, folding
// between the encoded words, each at most 75 characters, so no line of a
// long subject exceeds the limit RFC 2047 sets.
func encodeSubject(s string) string {
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

// encodeBody quoted-printable-encodes text. Line breaks (LF, CRLF or a
// lone CR) become CRLF. When text does not end with a line break, a final soft
// line break ends the last line, as SMTP requires, without adding a
// newline to what the reader sees.
func encodeBody(text string) []byte {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(text)) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	if b.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("=\r\n")
	}
	return b.Bytes()
}

// messageID returns a unique Message-ID in the sender's domain, which
// some spam filters check.
func messageID(from string) string {
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	return "<" + hex.EncodeToString(r[:]) + "@" + from[strings.LastIndex(from, "@")+1:] + ">"
}
