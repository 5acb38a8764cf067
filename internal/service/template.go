package service

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/internal/model"
)

// MaxTemplateLen bounds one custom header template, in bytes.
const MaxTemplateLen = 4096

// A template is a custom header value: literal text with {{ KEY }}
// placeholders (docs/protocol.md, "Auth types"). Spaces or tabs inside the braces are optional.
// The literal text may hold any header-value character (visible ASCII,
// space, tab, UTF-8) but not "{{" or "}}" outside a placeholder, nor a
// brace touching one ("{{{ KEY }}", "{{ KEY }}}"), so a typo such as
// "{{ KEY }" or "KEY }}" is an error, never literal text.
type template []templatePart

// templatePart is literal text, or a credential key when key is set.
type templatePart struct {
	text string
	key  string
}

// parseTemplate parses a template, returning the reason it is invalid.
func parseTemplate(s string) (template, string) {
	if s == "" {
		return nil, "the template is empty"
	}
	if len(s) > MaxTemplateLen {
		return nil, "the template is " + strconv.Itoa(len(s)) + " bytes long; the limit is " + strconv.Itoa(MaxTemplateLen)
	}
	if reason := checkHeaderValue(s); reason != "" {
		return nil, reason
	}
	var t template
	rest := s
	for rest != "" {
		open := strings.Index(rest, "{{")
		if close := strings.Index(rest, "}}"); close >= 0 && (open < 0 || close < open) {
			return nil, "`}}` at byte " + strconv.Itoa(len(s)-len(rest)+close) + " has no matching `{{`"
		}
		if open < 0 {
			t = append(t, templatePart{text: rest})
			break
		}
		if open > 0 {
			t = append(t, templatePart{text: rest[:open]})
		}
		body := rest[open+2:]
		end := strings.Index(body, "}}")
		if end < 0 {
			return nil, "`{{` at byte " + strconv.Itoa(len(s)-len(rest)+open) + " is not closed with `}}`"
		}
		key := strings.Trim(body[:end], " \t")
		if model.ValidateCredentialKey("key", key) != nil {
			return nil, "the placeholder at byte " + strconv.Itoa(len(s)-len(rest)+open) + " must name a credential key ({{ KEY }} with KEY matching ^[A-Z][A-Z0-9_]*$)"
		}
		t = append(t, templatePart{key: key})
		rest = body[end+2:]
		if strings.HasPrefix(rest, "}") {
			return nil, "`}` right after the placeholder ending at byte " + strconv.Itoa(len(s)-len(rest)) + " is ambiguous; remove it or put text in between"
		}
	}
	return t, ""
}

// keys returns the keys the template references, in order, repeats kept.
func (t template) keys() []string {
	var ks []string
	for _, p := range t {
		if p.key != "" {
			ks = append(ks, p.key)
		}
	}
	return ks
}

// render joins the literal text and the looked-up values. Every key must
// be present in values.
func (t template) render(values map[string][]byte) string {
	var b strings.Builder
	for _, p := range t {
		if p.key != "" {
			b.Write(values[p.key])
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// checkHeaderValue accepts what an HTTP field value may carry: visible
// characters, space and tab; no CR, LF, NUL or other controls. Text must
// also be valid UTF-8 so that it survives a JSON round trip unchanged.
func checkHeaderValue(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return "control characters (CR, LF, NUL, …) are not allowed in a header value"
		}
	}
	if !utf8.ValidString(s) {
		return "the text is not valid UTF-8"
	}
	return ""
}
