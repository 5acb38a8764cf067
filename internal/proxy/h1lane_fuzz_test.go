package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzLaneKeepsOnlyWhatNetHTTPReadsAlike: whatever bytes an agent sends
// first on an intercepted connection, http.ReadRequest reads no further
// than the header the lane found (so a hand-over passes on every byte
// once), a request the lane keeps is one that
// http.ReadRequest reads from exactly the header the lane found (no byte
// of what follows is taken into it, none of it is left over), a GET or
// HEAD without a body, and every other input is handed over whole.
func FuzzLaneKeepsOnlyWhatNetHTTPReadsAlike(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"HEAD /x?y=1 HTTP/1.1\r\nHost: api.test:8443\r\nAccept: */*\r\n\r\nGET /next HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n",
		"GET /" + strings.Repeat("a", laneReadBuffer) + " HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), laneReadBuffer)
		head, complete := laneHeader(br, func() {})
		if !complete {
			return
		}
		if !bytes.HasSuffix(head, []byte("\r\n\r\n")) || !bytes.HasPrefix(data, head) {
			t.Fatalf("header %q is not a prefix of the input ending in an empty line", head)
		}
		raw := append([]byte(nil), head...)
		before := br.Buffered()
		r, err := http.ReadRequest(br)
		// A hand-over skips what ReadRequest left of the header, so it
		// must never read past the header, nor read anything new.
		if consumed := before - br.Buffered(); consumed < 0 || consumed > len(raw) {
			t.Fatalf("ReadRequest took %d bytes of a %d-byte header (err %v)", consumed, len(raw), err)
		}
		if err != nil || !laneKeeps(r, raw) {
			return
		}
		rest, _ := io.ReadAll(br)
		if consumed := len(data) - len(rest); consumed != len(raw) {
			t.Fatalf("kept a request of %d header bytes, but net/http read %d", len(raw), consumed)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead || r.Body != http.NoBody || r.ContentLength != 0 {
			t.Fatalf("kept %s with a body (%d)", r.Method, r.ContentLength)
		}
		if hostFields(raw) != 1 || r.Host == "" || len(r.TransferEncoding) > 0 || r.ProtoMinor != 1 {
			t.Fatalf("kept a request with Host %q (%d fields), Transfer-Encoding %q, HTTP/1.%d", r.Host, hostFields(raw), r.TransferEncoding, r.ProtoMinor)
		}
	})
}
