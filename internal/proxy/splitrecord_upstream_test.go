package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/agent-vault/agent-vault/internal/ca"
)

// splitRecordUpstream is an HTTPS upstream written by hand over tls.Server,
// so that it decides which bytes leave in which socket write. It answers
// GET /dirty with "first" and then, unasked, a second response in a TLS
// record of its own; the first split bytes of that record leave in the
// same socket write as the answer (so the proxy's first read takes them
// together), the rest only once the next request arrives on that
// connection. Every other path is answered "genuine <path>", after that
// rest if one is pending (the order of the upstream's writes is kept).
type splitRecordUpstream struct {
	ln    net.Listener
	port  int
	split int

	mu     sync.Mutex
	conns  int              // accepted so far
	paths  map[int][]string // the requests each connection carried, by accept order from 1
	ended  map[int]bool     // connections the proxy closed (or that failed)
	failed error            // what went wrong on the upstream's side, if anything
}

// smuggledResponse is what the upstream sends unasked after /dirty's answer.
const smuggledResponse = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: 1\r\n\r\nsmuggled"

func startSplitRecordUpstream(t *testing.T, m *ca.Minter, version uint16, split int) *splitRecordUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &splitRecordUpstream{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, split: split, paths: map[int][]string{}, ended: map[int]bool{}}
	cfg := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return m.Leaf(h.ServerName) },
		MinVersion: version, MaxVersion: version, NextProtos: []string{"http/1.1"}}
	var wg sync.WaitGroup
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for _, c := range open {
			c.Close()
		}
		u.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns++
			id := u.conns
			open = append(open, c)
			u.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				u.serve(id, c, cfg)
			}()
		}
	}()
	return u
}

// heldConn keeps the TLS records written while hold is set instead of
// sending them (crypto/tls writes each record after the handshake with
// one Write), so that the upstream can cut them where it likes.
type heldConn struct {
	net.Conn
	hold    bool
	records [][]byte
}

func (c *heldConn) Write(p []byte) (int, error) {
	if c.hold {
		c.records = append(c.records, bytes.Clone(p))
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (u *splitRecordUpstream) fail(err error) {
	u.mu.Lock()
	if u.failed == nil {
		u.failed = err
	}
	u.mu.Unlock()
}

func (u *splitRecordUpstream) serve(id int, c net.Conn, cfg *tls.Config) {
	defer func() {
		c.Close()
		u.mu.Lock()
		u.ended[id] = true
		u.mu.Unlock()
	}()
	hc := &heldConn{Conn: c}
	tc := tls.Server(hc, cfg)
	br := bufio.NewReader(tc)
	var rest []byte // the smuggled record's bytes not sent yet
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		u.mu.Lock()
		u.paths[id] = append(u.paths[id], req.URL.Path)
		u.mu.Unlock()
		if req.URL.Path == "/dirty" {
			hc.hold = true
			_, err1 := tc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"))
			_, err2 := tc.Write([]byte(smuggledResponse))
			hc.hold = false
			if err1 != nil || err2 != nil || len(hc.records) != 2 || len(hc.records[1]) <= u.split {
				u.fail(fmt.Errorf("the upstream wrote %d records (%v, %v), want the answer and the smuggled response in one record each", len(hc.records), err1, err2))
				return
			}
			answer, smuggled := hc.records[0], hc.records[1]
			hc.records = nil
			// One socket write: the whole answer and the first bytes of
			// the record after it.
			if _, err := c.Write(append(answer, smuggled[:u.split]...)); err != nil {
				return
			}
			rest = smuggled[u.split:]
			continue
		}
		if rest != nil {
			if _, err := c.Write(rest); err != nil {
				return
			}
			rest = nil
		}
		body := "genuine " + req.URL.Path
		if _, err := tc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)); err != nil {
			return
		}
	}
}

// state is what the upstream saw: the paths each connection carried, the
// connections that ended, and a failure of its own.
func (u *splitRecordUpstream) state() (paths map[int][]string, ended map[int]bool, failed error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	paths, ended = map[int][]string{}, map[int]bool{}
	for k, v := range u.paths {
		paths[k] = append([]string(nil), v...)
	}
	for k, v := range u.ended {
		ended[k] = v
	}
	return paths, ended, u.failed
}
