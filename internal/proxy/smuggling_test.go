package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestSmugglingInsideAnInterceptedTunnel plays an agent that writes raw
// HTTP/1.1 into an intercepted tunnel, trying to get a request past the
// proxy's checks by framing it so that the proxy and the upstream read
// the byte stream differently: Content-Length with Transfer-Encoding,
// obfuscated Transfer-Encoding, duplicate lengths, bare LF line ends,
// obsolete line folding, an absolute-form target naming another host. The
// service allows GET and POST under /v1/ and denies /v1/admin. Whatever
// each attempt gets, the upstream sees only requests the proxy checked:
// never the denied path, never a request outside /v1/, never another host,
// and never a request smuggled inside another's body.
func TestSmugglingInsideAnInterceptedTunnel(t *testing.T) {
	e := newEnv(t, true)
	svc := bearer("api", "api.test", "API_KEY")
	svc.Methods = []string{"GET", "POST"}
	svc.Paths = &apitype.PathRules{Allow: []string{"/v1/*"}, Deny: []string{"/v1/admin*"}}
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	tok := e.agent("bot", "proxy")
	host := e.upstream
	smuggled := "GET /v1/admin HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	attempts := map[string]string{
		"CL.TE": "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"TE.CL": "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" +
			itoaHex(len(smuggled)) + "\r\n" + smuggled + "\r\n0\r\n\r\n",
		"TE with a space before the colon": "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
		"TE chunked, identity":             "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
		"TE xchunked":                      "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: xchunked\r\nContent-Length: 0\r\n\r\n" + smuggled,
		"TE tab":                           "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n" + smuggled,
		"two Content-Lengths":              "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\nContent-Length: " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled,
		"Content-Length list":              "POST /v1/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0, " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled,
		"bare LF":                          "GET /v1/x HTTP/1.1\nHost: " + host + "\nContent-Length: " + itoa(len(smuggled)) + "\n\n" + smuggled,
		"obs-fold":                         "GET /v1/x HTTP/1.1\r\nHost: " + host + "\r\nX-Folded: a\r\n Content-Length: " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled,
		"absolute-form to another host":    "GET https://other.test/v1/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		"absolute-form to a denied path":   "GET https://" + host + "/v1/admin HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		"CR in the request line":           "GET /v1/x\r/v1/admin HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		"pipelined denied request":         "GET /v1/ok HTTP/1.1\r\nHost: " + host + "\r\n\r\n" + smuggled,
	}
	t.Run("attempts", func(t *testing.T) {
		for name, raw := range attempts {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				tc, br := e.rawConnect(t, host, tok, "api.test")
				// Bounds the wait for answers that never come (a request
				// the proxy holds for a body), not a timing check.
				_ = tc.SetDeadline(time.Now().Add(3 * time.Second))
				if _, err := io.WriteString(tc, raw); err != nil {
					t.Fatal(err)
				}
				// Read whatever comes back until the proxy is done with us.
				for range 3 {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						break
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	})
	e.seen.mu.Lock()
	defer e.seen.mu.Unlock()
	if len(e.seen.reqs) == 0 {
		t.Fatal("no attempt reached the upstream: the test proves nothing")
	}
	for _, r := range e.seen.reqs {
		p := r.URL.Path
		if !strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v1/admin") || strings.Contains(p, "\r") {
			t.Errorf("the upstream received %s %q", r.Method, p)
		}
		if r.Host != host {
			t.Errorf("the upstream received a request for host %q", r.Host)
		}
	}
}

func itoaHex(n int) string { return strings.ToUpper(strconvFormatHex(n)) }

func strconvFormatHex(n int) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{digits[n%16]}, b...)
		n /= 16
	}
	return string(b)
}
