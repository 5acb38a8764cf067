package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// A refused CONNECT is shown by clients as its status line only: curl
// prints "CONNECT tunnel failed, response 403", Python "Tunnel connection
// failed: 403 Forbidden", and neither reads the body. So the refusal's
// reason phrase carries the message and the fix (ASCII, one line,
// bounded), and the body still carries the JSON.

// maxReason bounds the reason phrase: long enough for a message and its
// fix, short enough for every client's status-line limit.
const maxReason = 300

// connectWriter is the ResponseWriter of an HTTP/1 CONNECT: writeError
// writes its refusals itself, with the reason phrase.
type connectWriter struct {
	http.ResponseWriter
}

// Unwrap lets http.ResponseController reach the connection (hijack).
func (w *connectWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// connectOf finds the connectWriter under w, if any.
func connectOf(w http.ResponseWriter) *connectWriter {
	if lw, ok := w.(*logWriter); ok {
		w = lw.ResponseWriter
	}
	cw, _ := w.(*connectWriter)
	return cw
}

// writeRefusal writes e as the raw answer to the CONNECT and closes the
// connection; false when the connection cannot be taken over (the caller
// then writes e the ordinary way).
func (w *connectWriter) writeRefusal(e *brokerError, h http.Header) bool {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	body, _ := json.Marshal(e.body)
	body = append(body, '\n')
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(e.status) + " " + reasonPhrase(e) + "\r\n")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(&b) // our own header values: no CR or LF in them
	b.WriteString("\r\n")
	_, _ = io.WriteString(brw, b.String())
	_, _ = brw.Write(body)
	_ = brw.Flush()
	return true
}

// reasonPhrase is "<status text>: <message> (fix: <help>)" made safe for a
// status line: printable ASCII only (anything else becomes '?'), one
// line, at most maxReason bytes.
func reasonPhrase(e *brokerError) string {
	s := http.StatusText(e.status)
	if s == "" {
		s = "Error"
	}
	if e.body.Message != "" {
		s += ": " + e.body.Message
	}
	if e.body.Help != "" {
		s += " (fix: " + e.body.Help + ")"
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	if len(b) > maxReason {
		b = append(b[:maxReason-3], "..."...)
	}
	return string(b)
}
