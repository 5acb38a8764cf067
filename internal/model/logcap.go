package model

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLogField is the most bytes the request log keeps of a text an agent
// chooses (path, host, method, actor name, error code). Longer texts are
// cut and end in a marker saying how long they were, so that a 900 KB
// path costs the database, the log API and a terminal about 2 KiB.
const MaxLogField = 2048

// CapLogField returns s when it fits in MaxLogField bytes; else its start,
// cut at a character boundary, followed by "…[cut: N bytes]" where N is
// the original length. The result never exceeds MaxLogField bytes, so
// capping twice changes nothing, and it shares no memory with s.
func CapLogField(s string) string {
	if len(s) <= MaxLogField {
		return s
	}
	mark := "…[cut: " + strconv.Itoa(len(s)) + " bytes]"
	keep := MaxLogField - len(mark)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return strings.Clone(s[:keep]) + mark
}

// Capped returns the row with every agent-chosen text capped by
// CapLogField.
func (r RequestLog) Capped() RequestLog {
	r.ActorName = CapLogField(r.ActorName)
	r.Method = CapLogField(r.Method)
	r.Host = CapLogField(r.Host)
	r.Path = CapLogField(r.Path)
	r.Service = CapLogField(r.Service)
	r.ErrorCode = CapLogField(r.ErrorCode)
	return r
}
