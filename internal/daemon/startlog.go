package daemon

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// startError picks what a server that failed to start said about it from
// its log: the CLI's last "error: …" line, else its last log line at level
// ERROR, else the last line; bounded, so a runaway log cannot flood the
// terminal.
func startError(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	pick := ""
	for i := len(lines) - 1; i >= 0 && pick == ""; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "error: ") {
			pick = strings.TrimPrefix(l, "error: ")
		}
	}
	for i := len(lines) - 1; i >= 0 && pick == ""; i-- {
		if strings.Contains(lines[i], " level=ERROR ") {
			pick = logMessage(lines[i])
		}
	}
	if pick == "" {
		pick = strings.TrimSpace(lines[len(lines)-1])
	}
	if pick == "" {
		return "it printed nothing"
	}
	return bound(pick, 2000)
}

// logWarnings returns the WARN lines of a server's log as plain text.
func logWarnings(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " level=WARN ") {
			out = append(out, bound(logMessage(l), 2000))
		}
	}
	return out
}

// logMessage turns a log/slog text line (time=… level=… msg="…" k=v…)
// into its message followed by its other attributes.
func logMessage(line string) string {
	_, rest, ok := strings.Cut(line, " msg=")
	if !ok {
		return strings.TrimSpace(line)
	}
	msg := rest
	attrs := ""
	if strings.HasPrefix(rest, `"`) {
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			msg, _ = strconv.Unquote(q)
			attrs = strings.TrimSpace(rest[len(q):])
		}
	} else if m, a, ok := strings.Cut(rest, " "); ok {
		msg, attrs = m, strings.TrimSpace(a)
	}
	if attrs != "" {
		return msg + " (" + attrs + ")"
	}
	return msg
}

// bound cuts s to at most n bytes, on a rune boundary.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
