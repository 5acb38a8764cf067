package cli

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/internal/model"
)

// Text the CLI prints in tables and lists comes from the server, and much
// of it from agents: a proxied path, a host an agent named, a device
// label. Printed raw, an ESC sequence could clear the screen or recolour
// it, a CR or a newline could draw a fake row over a real one, and a bidi
// control could reverse what is read. cell is the one filter every table
// and list printer uses.

// unsafeRune reports a character that must not reach a terminal as is:
// C0 and C1 control characters (ESC, BEL, CR, LF, TAB, NUL, …), DEL, the
// Unicode line and paragraph separators, and the bidi embedding,
// override and isolate controls.
func unsafeRune(r rune) bool {
	return model.HiddenRune(r) || r == '\u2028' || r == '\u2029'
}

// cell returns s with every unsafe character, and every byte that is not
// UTF-8, shown as a visible Go escape (\x1b, \r, \u202e): the reader sees
// that something was there, and the terminal receives only printable text.
func cell(s string) string {
	clean := true
	for i, r := range s {
		if unsafeRune(r) || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\r', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// cells applies cell to each of row's cells.
func cells(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = cell(c)
	}
	return out
}
