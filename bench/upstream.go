//go:build bench

package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The credential the broker injects, and what the direct client sends
// itself (an agent holding the key, which is what the broker replaces).
const (
	credentialKey   = "BENCH_API_KEY"
	credentialValue = "sk_bench_0123456789abcdef0123456789abcdef"
	wantAuth        = "Bearer " + credentialValue
)

// Sizes of the scenarios' responses.
const (
	smallBodyLen = 128
	bigBodyLen   = 10_000_000 // 10 MB
	bigChunkLen  = 256 << 10
)

var (
	smallBody = []byte(strings.Repeat("x", smallBodyLen-1) + "\n")
	bigChunk  = make([]byte, bigChunkLen)
)

// upstream is an HTTPS server on 127.0.0.1 with its own CA, speaking
// HTTP/1.1 and HTTP/2. Only the broker (through --upstream-ca-file) and
// the direct client trust that CA. By default it runs in a child process
// (this program re-executed with -serve-upstream), as a real upstream is
// never in the agent's process; -upstream inproc serves it from here.
type upstream struct {
	addr  string // 127.0.0.1:port
	port  int
	caPEM []byte
	pool  *x509.CertPool

	srv *http.Server // in-process
	// unauthorized counts requests without the expected Authorization:
	// every proxied request must carry the injected credential.
	unauthorized atomic.Int64

	proc *child // when it runs in a child process
}

// newUpstreamServer listens on 127.0.0.1 with a leaf of a fresh CA,
// offering HTTP/2 unless h1only.
func newUpstreamServer(h1only bool) (*upstream, net.Listener, error) {
	leaf, caPEM, err := newTestCA("127.0.0.1")
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	u := &upstream{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, caPEM: caPEM, pool: x509.NewCertPool()}
	u.pool.AppendCertsFromPEM(caPEM)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /small", u.auth(u.small))
	mux.HandleFunc("GET /big", u.auth(u.big))
	mux.HandleFunc("GET /sse", u.auth(u.sse))
	mux.HandleFunc("GET /ws", u.auth(serveWSEcho))
	mux.HandleFunc("GET /echo-auth", u.auth(u.echoAuth))
	mux.HandleFunc("GET /refused", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strconv.FormatInt(u.unauthorized.Load(), 10))
	})
	u.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{*leaf}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // clients closing mid-run are expected
	}
	u.srv.Protocols = new(http.Protocols)
	u.srv.Protocols.SetHTTP1(true)
	u.srv.Protocols.SetHTTP2(!h1only)
	return u, ln, nil
}

// startUpstream serves the upstream in this process or in a child.
func startUpstream(inproc, h1only bool, tmp string) (*upstream, error) {
	if inproc {
		u, ln, err := newUpstreamServer(h1only)
		if err != nil {
			return nil, err
		}
		go func() { _ = u.srv.ServeTLS(ln, "", "") }()
		return u, nil
	}
	caFile := filepath.Join(tmp, "upstream-ca.pem")
	c, err := startChild("upstream", "-serve-upstream", caFile, "-upstream-h1only="+strconv.FormatBool(h1only))
	if err != nil {
		return nil, err
	}
	u := &upstream{proc: c}
	addr := c.addr
	host, port, _ := net.SplitHostPort(addr)
	u.addr = addr
	u.port, _ = strconv.Atoi(port)
	if host != "127.0.0.1" || u.port == 0 {
		u.close()
		return nil, fmt.Errorf("the upstream process listens on %q", addr)
	}
	if u.caPEM, err = os.ReadFile(caFile); err != nil {
		u.close()
		return nil, err
	}
	u.pool = x509.NewCertPool()
	u.pool.AppendCertsFromPEM(u.caPEM)
	return u, nil
}

// serveUpstreamChild is the child's main: serve until stdin closes (the
// parent exited or is done).
func serveUpstreamChild(caFile string, h1only bool) error {
	u, ln, err := newUpstreamServer(h1only)
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, u.caPEM, 0o600); err != nil {
		return err
	}
	go func() { _ = u.srv.ServeTLS(ln, "", "") }()
	serveUntilParentGoes(u.addr)
	return u.srv.Close()
}

func (u *upstream) close() {
	if u.srv != nil {
		_ = u.srv.Close()
	}
	if u.proc != nil {
		u.proc.close()
	}
}

// pid is the process serving the upstream.
func (u *upstream) pid() int {
	if u.proc != nil {
		return u.proc.pid()
	}
	return os.Getpid()
}

// refused is how many requests the upstream refused for a missing or
// wrong credential.
func (u *upstream) refused(pool *x509.CertPool) (int64, error) {
	if u.proc == nil {
		return u.unauthorized.Load(), nil
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + u.addr + "/refused")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// auth refuses requests without the credential, and counts them.
func (u *upstream) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if vals := r.Header.Values("Authorization"); len(vals) != 1 || vals[0] != wantAuth {
			u.unauthorized.Add(1)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func (u *upstream) small(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(smallBody)))
	_, _ = w.Write(smallBody)
}

func (u *upstream) big(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(bigBodyLen))
	for left := bigBodyLen; left > 0; left -= bigChunkLen {
		if _, err := w.Write(bigChunk[:min(left, bigChunkLen)]); err != nil {
			return
		}
	}
}

// echoAuth sends back the Authorization header it received: through the
// proxy, the injected credential must come back redacted, which proves
// that the proxied runs pay for response redaction.
func (u *upstream) echoAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, r.Header.Get("Authorization")+"\n")
}

// sse sends n events gap apart, the first at once; each carries the time
// it was sent (UnixNano), which the client, in this same process, compares
// with the time it arrived.
func (u *upstream) sse(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	gap, _ := time.ParseDuration(r.URL.Query().Get("gap"))
	if n <= 0 {
		n = 10
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 256)
	for i := 0; i < n; i++ {
		if i > 0 {
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = bw.WriteString("id: " + strconv.Itoa(i) + "\ndata: " + strconv.FormatInt(time.Now().UnixNano(), 10) + "\n\n")
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}
