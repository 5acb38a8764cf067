package proxy

import (
	"io"
	"net/http"
	"time"
)

// withBodyTimeout cuts a request body on which no byte arrives for
// BodyTimeout: each read pushes the connection's read deadline forward,
// and the end of the body clears it (so that the server's own read of
// the connection, while a long response streams, is never cut). A client
// that announces 100 bytes and sends 3 is disconnected instead of holding
// its connection, and its place in the caps, forever.
func (p *Proxy) withBodyTimeout(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	if body == nil || body == http.NoBody {
		return body
	}
	return &deadlineBody{rc: body, ctl: http.NewResponseController(w), d: p.o.Conns.BodyTimeout}
}

type deadlineBody struct {
	rc  io.ReadCloser
	ctl *http.ResponseController
	d   time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	_ = b.ctl.SetReadDeadline(time.Now().Add(b.d))
	n, err := b.rc.Read(p)
	if err == io.EOF {
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.rc.Close() }

// rejectBody answers a request without reading its body (413 for a body
// announced over the limit), and closes the connection after the answer.
// The answer is flushed at once: net/http would otherwise try to read and
// discard the unread body before sending it, and a client that waits for
// an answer before sending its body (Expect: 100-continue, or just
// cautious) would never get one.
// HTTP/2 needs none of this: a stream is answered and reset on its own,
// and "Connection: close" would end every other stream of the connection.
func rejectBody(w http.ResponseWriter, r *http.Request, e *brokerError) {
	ctl := http.NewResponseController(w)
	if r.ProtoMajor == 1 {
		_ = ctl.EnableFullDuplex() // do not drain the body before answering
		w.Header().Set("Connection", "close")
	}
	writeError(w, e)
	_ = ctl.Flush()
}
