package proxy

import (
	"bufio"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// laneWriter is the http.ResponseWriter of a request the HTTP/1.1 lane
// serves (h1lane.go). It frames the answer as net/http's server would for
// a keep-alive HTTP/1.1 GET or HEAD: the declared Content-Length when the
// handler set one (a body that is longer is refused, one that is shorter
// closes the connection), no body for HEAD, 1xx, 204 and 304, chunked
// encoding (with the announced trailers) otherwise, and Content-Length: 0
// for a handler that wrote nothing. The status line and header go out
// with the first body bytes, a flush, or the end of the answer, which the
// handler marks (endAnswer) before its bookkeeping.
type laneWriter struct {
	bw    *bufio.Writer
	batch *batchConn // under the TLS session: held around body writes
	req   *http.Request
	h     http.Header

	status      int  // the final status, once set
	wroteHeader bool // the status line and header are in bw
	bodyless    bool
	chunked     bool
	length      int64 // the declared Content-Length; -1: none
	written     int64
	closeAfter  bool
	trailers    []string // names announced in the Trailer header
	err         error    // the first failed write
	ended       bool     // finish has run
	endErr      error    // what it returned
}

var (
	errLaneShortAnswer = errors.New("the answer ended before its declared length")
	headerSanitizer    = strings.NewReplacer("\r", " ", "\n", " ")
)

func (w *laneWriter) Header() http.Header { return w.h }

func (w *laneWriter) WriteHeader(code int) {
	if w.status != 0 {
		return // a second final status is ignored, as net/http does
	}
	if code < 100 || code > 999 {
		panic("proxy: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out at once, with the header as it
		// is now; the caller clears what it set for it.
		w.writeStatusLine(code)
		w.writeFields(w.h)
		w.put("\r\n")
		w.flush()
		return
	}
	w.status = code
}

func (w *laneWriter) Write(p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, w.err
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHeader {
		w.writeHeader(true)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.bodyless {
		return 0, http.ErrBodyNotAllowed
	}
	if w.batch != nil && len(p) > w.bw.Available() {
		// The bytes reach the TLS session in this call: its records go
		// out in one system call.
		w.batch.hold()
		defer func() {
			if rerr := w.batch.release(); rerr != nil && w.err == nil {
				w.err = rerr
				n, err = 0, rerr
			}
		}()
	}
	if w.chunked {
		w.put(strconv.FormatInt(int64(len(p)), 16))
		w.put("\r\n")
		w.putBytes(p)
		w.put("\r\n")
	} else {
		if w.written+int64(len(p)) > w.length {
			w.closeAfter = true
			return 0, http.ErrContentLength
		}
		w.putBytes(p)
	}
	w.written += int64(len(p))
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends what is buffered, the header first if it has not gone yet.
func (w *laneWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHeader {
		w.writeHeader(true)
	}
	w.flush()
}

// endAnswer ends the answer as soon as the handler has written all of it,
// before the request's bookkeeping (the request log, metrics), which would
// otherwise sit between the agent and the last bytes of every answer.
func (w *laneWriter) endAnswer() { _ = w.finish() }

// finish ends the answer, once: the header if nothing was written, the
// last chunk and the trailers, and a flush. A non-nil error means the
// connection cannot carry another request.
func (w *laneWriter) finish() error {
	if !w.ended {
		w.ended = true
		w.endErr = w.end()
	}
	return w.endErr
}

func (w *laneWriter) end() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHeader {
		w.writeHeader(false)
	}
	if w.chunked {
		w.put("0\r\n")
		w.writeTrailers()
		w.put("\r\n")
	}
	short := !w.bodyless && !w.chunked && w.written < w.length
	w.flush()
	if w.err != nil {
		return w.err
	}
	if short {
		return errLaneShortAnswer
	}
	return nil
}

// mustClose reports an answer after which the connection must close: one
// that asked for it, or one whose framing failed.
func (w *laneWriter) mustClose() bool { return w.closeAfter || w.err != nil }

// writeHeader decides the framing and writes the status line and header.
// body tells whether body bytes follow now (else the handler is done or
// flushing before any).
func (w *laneWriter) writeHeader(body bool) {
	w.wroteHeader = true
	h := w.h
	code := w.status
	w.length = -1
	delete(h, "Transfer-Encoding") // the lane frames the body itself
	w.bodyless = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified || code < 200
	if code == http.StatusNoContent || code < 200 {
		delete(h, "Content-Length")
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.length = n
		} else {
			delete(h, "Content-Length")
		}
	}
	switch {
	case w.bodyless || w.length >= 0:
	case !body:
		h["Content-Length"] = []string{"0"} // the handler is done and wrote nothing
		w.length = 0
	default:
		w.chunked = true
		h["Transfer-Encoding"] = []string{"chunked"}
		w.trailers = announcedTrailers(h)
	}
	if code == http.StatusSwitchingProtocols || headerHasToken(h, "Connection", "close") {
		w.closeAfter = true
	}
	if w.closeAfter {
		h["Connection"] = []string{"close"} // the agent asked to close, or the answer must
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	}
	w.writeStatusLine(code)
	w.writeFields(h)
	w.put("\r\n")
}

func (w *laneWriter) writeStatusLine(code int) {
	w.put("HTTP/1.1 ")
	w.put(strconv.Itoa(code))
	w.put(" ")
	if text := http.StatusText(code); text != "" {
		w.put(text)
	} else {
		w.put("status code " + strconv.Itoa(code))
	}
	w.put("\r\n")
}

// writeFields writes h's fields, skipping names that are not tokens and
// the trailer values set under http.TrailerPrefix; line breaks in values
// become spaces, as net/http writes them.
func (w *laneWriter) writeFields(h http.Header) {
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) || !validFieldName(k) {
			continue
		}
		for _, v := range vs {
			w.writeField(k, v)
		}
	}
}

func (w *laneWriter) writeField(k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = headerSanitizer.Replace(v)
	}
	w.put(k)
	w.put(": ")
	w.put(strings.TrimSpace(v))
	w.put("\r\n")
}

// writeTrailers writes the announced trailers and those set under
// http.TrailerPrefix, after the last chunk.
func (w *laneWriter) writeTrailers() {
	for _, k := range w.trailers {
		for _, v := range w.h[k] {
			w.writeField(k, v)
		}
	}
	for k, vs := range w.h {
		name, ok := strings.CutPrefix(k, http.TrailerPrefix)
		if !ok || !validFieldName(name) {
			continue
		}
		for _, v := range vs {
			w.writeField(name, v)
		}
	}
}

// announcedTrailers lists the valid field names of h's Trailer header.
func announcedTrailers(h http.Header) []string {
	var names []string
	for _, v := range h["Trailer"] {
		for _, name := range strings.Split(v, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			switch name {
			case "", "Transfer-Encoding", "Trailer", "Content-Length":
				continue
			}
			if validFieldName(name) {
				names = append(names, name)
			}
		}
	}
	return names
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tokenByte(k[i]) {
			return false
		}
	}
	return true
}

func (w *laneWriter) put(s string) {
	if _, err := w.bw.WriteString(s); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *laneWriter) putBytes(b []byte) {
	if _, err := w.bw.Write(b); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *laneWriter) flush() {
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}
