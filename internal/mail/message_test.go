package mail

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// TestSendRefusesInjection checks that Send refuses, before connecting,
// anything that could add a header or a recipient.
func TestSendRefusesInjection(t *testing.T) {
	ts := startServer(t, serverOpts{mode: TLSStartTLS})
	m, err := New(ts.config())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		to      []string
		subject string
		wantErr string
	}{
		{"no recipients", nil, "Hi", "no recipient"},
		{"empty recipient list", []string{}, "Hi", "no recipient"},
		{"empty address", []string{""}, "Hi", "not a single email address"},
		{"CRLF in recipient", []string{"a@example.com\r\nBcc: evil@example.com"}, "Hi", "not a single email address"},
		{"LF in recipient", []string{"a@example.com\nBcc: evil@example.com"}, "Hi", "not a single email address"},
		{"CR in recipient", []string{"a@example.com\rBcc: evil@example.com"}, "Hi", "not a single email address"},
		{"display name", []string{"Bob <bob@example.com>"}, "Hi", "not a single email address"},
		{"angle brackets", []string{"<bob@example.com>"}, "Hi", "not a single email address"},
		{"two addresses in one", []string{"a@example.com, evil@example.com"}, "Hi", "not a single email address"},
		{"comment", []string{"a@example.com (Bob)"}, "Hi", "not a single email address"},
		{"surrounding space", []string{" a@example.com"}, "Hi", "not a single email address"},
		{"not an address", []string{"bob"}, "Hi", "not a single email address"},
		{"SMTP command in address", []string{"a@example.com>\r\nRCPT TO:<evil@example.com"}, "Hi", "not a single email address"},
		{"one bad among good", []string{"a@example.com", "b@example.com\r\n"}, "Hi", "not a single email address"},
		{"CRLF in subject", []string{"a@example.com"}, "Hi\r\nBcc: evil@example.com", "subject must be one line"},
		{"LF in subject", []string{"a@example.com"}, "Hi\nBcc: evil@example.com", "subject must be one line"},
		{"CR in subject", []string{"a@example.com"}, "Hi\rBcc: evil@example.com", "subject must be one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Send(context.Background(), tt.to, tt.subject, "body")
			if err == nil {
				t.Fatal("Send accepted it")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
	if n := ts.accepts.Load(); n != 0 {
		t.Errorf("the server accepted %d connections; want none", n)
	}
}

// TestEncodeBody checks that the body decodes back to the text, with CRLF
// line breaks, in lines SMTP and quoted-printable allow.
func TestEncodeBody(t *testing.T) {
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"one word", "hello"},
		{"final newline", "hello\n"},
		{"CRLF", "one\r\ntwo\r\n"},
		{"non-ASCII", "Zoë a approuvé — ✓ 你好"},
		{"long line", strings.Repeat("0123456789", 20)},
		{"long non-ASCII line", strings.Repeat("é", 100)},
		{"trailing space", "space \ntab\t\nend "},
		{"leading dot", ".\n.hidden\n"},
		{"equals and soft-break lookalike", "a=b\nc=\nd=3D"},
		{"lone CR", "a\rb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeBody(tt.text)
			checkLines(t, string(enc), 76)
			got, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(enc))))
			if err != nil {
				t.Fatal(err)
			}
			if want := crlf(tt.text); string(got) != want {
				t.Errorf("decoded %q, want %q (encoded %q)", got, want, enc)
			}
		})
	}
}

func TestEncodeSubject(t *testing.T) {
	tests := []struct {
		name, subject string
		encoded       bool
	}{
		{"ASCII stays readable", "Agent Vault: you are invited", false},
		{"empty", "", false},
		{"non-ASCII", "Proposition à approuver", true},
		{"long non-ASCII", strings.Repeat("Approve proposal «rotate key» für café ", 5), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeSubject(tt.subject)
			if !tt.encoded && enc != tt.subject {
				t.Errorf("encodeSubject(%q) = %q, want it unchanged", tt.subject, enc)
			}
			if tt.encoded && !strings.HasPrefix(enc, "=?utf-8?q?") {
				t.Errorf("encodeSubject(%q) = %q, want Q-encoding", tt.subject, enc)
			}
			for _, line := range strings.Split(enc, "\r\n") {
				if len(line) > 76 {
					t.Errorf("line %q is %d characters long; RFC 2047 allows 76", line, len(line))
				}
			}
			// A reader unfolds the header before decoding it.
			got, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.subject {
				t.Errorf("decoded %q, want %q", got, tt.subject)
			}
		})
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct{ name, fromName, want string }{
		{"no name", "", "<vault@example.com>"},
		{"ASCII name", "Agent Vault", `"Agent Vault" <vault@example.com>`},
		{"non-ASCII name is Q-encoded", "Coffre à agents", "=?utf-8?q?Coffre_=C3=A0_agents?= <vault@example.com>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.FromName = tt.fromName
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.from.String(); got != tt.want {
				t.Errorf("From = %q, want %q", got, tt.want)
			}
		})
	}
}

// crlf turns the line breaks of s (LF, CRLF or a lone CR) into CRLF, as
// on the wire.
func crlf(s string) string {
	return strings.NewReplacer("\r\n", "\r\n", "\r", "\r\n", "\n", "\r\n").Replace(s)
}

// checkLines fails unless every line of s ends in CRLF (no bare CR or LF
// anywhere) and is at most limit characters long.
func checkLines(t *testing.T, s string, limit int) {
	t.Helper()
	if s == "" {
		return
	}
	if !strings.HasSuffix(s, "\r\n") {
		t.Errorf("%q does not end with CRLF", s)
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %q has a bare CR or LF", line)
		}
		if len(line) > limit {
			t.Errorf("line %q is %d characters long, over %d", line, len(line), limit)
		}
	}
}
