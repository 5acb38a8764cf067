package proxy

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/redact"
)

// logWriter remembers what the request log needs of a response. With
// coalesce, body writes are gathered in a pooled buffer and handed on in
// pieces of coalesceSize: net/http frames each write of a chunked body
// (a redacted one is) with its own chunk header, which costs a short TLS
// record and a system call per write on top of the data's own, and the
// upstream's TLS layer hands over at most one 16 KiB record per read. A
// Flush hands on what is gathered at once (event streams and bodies of
// unknown length are flushed after every write), and finish at the end.
type logWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	reqBytes atomic.Int64
	errCode  string
	redact   *redact.Set // informational (1xx) headers are stripped and redacted too
	coalesce bool
	writes   int     // body writes so far
	buf      *[]byte // gathered body bytes, from coalescePool
	werr     error   // the first failed write of gathered bytes
}

const coalesceSize = 64 << 10

var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, coalesceSize); return &b }}

func (w *logWriter) WriteHeader(code int) {
	if code < 200 {
		// An informational answer's header is the upstream's, copied by
		// the ReverseProxy without modifyResponse: the same rules apply.
		stripResponseHeaders(w.Header())
		if w.redact != nil {
			redactHeader(w.Header(), w.redact)
		}
	}
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	first := w.writes == 0
	w.writes++
	// The first write goes through: a body of one write (most answers) is
	// buffered by net/http anyway and never takes a buffer from the pool.
	if !w.coalesce || first || (w.buf == nil && len(p) >= coalesceSize) {
		if w.werr != nil {
			return 0, w.werr
		}
		n, err := w.ResponseWriter.Write(p)
		w.bytes += int64(n)
		return n, err
	}
	for done := 0; done < len(p); {
		if w.werr != nil {
			return done, w.werr
		}
		if w.buf == nil {
			w.buf = coalescePool.Get().(*[]byte)
		}
		b := *w.buf
		n := copy(b[len(b):cap(b)], p[done:])
		*w.buf = b[:len(b)+n]
		done += n
		if len(*w.buf) == cap(*w.buf) {
			w.drain()
		}
	}
	return len(p), nil
}

// drain hands the gathered bytes on.
func (w *logWriter) drain() {
	if w.buf == nil || len(*w.buf) == 0 || w.werr != nil {
		return
	}
	n, err := w.ResponseWriter.Write(*w.buf)
	w.bytes += int64(n)
	w.werr = err
	*w.buf = (*w.buf)[:0]
}

// finish hands on what is left and returns the buffer to the pool.
func (w *logWriter) finish() {
	w.drain()
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		coalescePool.Put(w.buf)
		w.buf = nil
	}
}

// Flush keeps streaming working through the wrapper.
func (w *logWriter) Flush() {
	w.drain()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (hijack).
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts request body bytes read.
type countingBody struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// record hands one row to the request log: names of credentials, never
// values; the path without its query, and every text the agent chose
// capped (model.CapLogField) before it is queued, so that a huge path or
// host costs the queue and the database about 2 KiB.
func (p *Proxy) record(g *broker.ProxyGrant, t target, method, path string, out *outbound, w *logWriter, d time.Duration) {
	if p.o.Recorder == nil {
		return
	}
	row := model.RequestLog{
		VaultID: g.VaultID, At: time.Now().UTC(), ActorKind: g.ActorKind, ActorName: g.ActorName, Ingress: t.ingress,
		Method: method, Host: t.host, Port: t.port, Path: path, Status: w.status,
		RequestBytes: w.reqBytes.Load(), ResponseBytes: w.bytes, Duration: d, ErrorCode: w.errCode,
	}
	if out != nil && out.svc != nil {
		row.Service = out.svc.Name
		row.CredentialKeys = out.keys
	}
	p.o.Recorder.Record(row.Capped())
}

// recordTunnel logs a blind tunnel once it has closed.
func (p *Proxy) recordTunnel(g *broker.ProxyGrant, host string, port int, status int, errCode string, up, down int64, d time.Duration) {
	if p.o.Recorder == nil {
		return
	}
	p.o.Recorder.Record(model.RequestLog{
		VaultID: g.VaultID, At: time.Now().UTC(), ActorKind: g.ActorKind, ActorName: g.ActorName, Ingress: "tunnel",
		Method: http.MethodConnect, Host: host, Port: port, Status: status, RequestBytes: up, ResponseBytes: down, Duration: d, ErrorCode: errCode,
	}.Capped())
}
