package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// headRecorder is an HTTPS upstream written by hand: it records the head
// of every request (request line and fields, as sent) and answers each
// with a small 200. No HTTP library judges what it receives, as a
// lenient upstream would not.
type headRecorder struct {
	port  int
	mu    sync.Mutex
	heads []string
}

func (u *headRecorder) all() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.heads...)
}

func startHeadRecorder(t *testing.T, e *env) *headRecorder {
	t.Helper()
	u := &headRecorder{}
	cfg := &tls.Config{NextProtos: []string{"http/1.1"},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return e.upMinter.Leaf(h.ServerName) }}
	ln := serveRaw(t, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, cfg)
		br := bufio.NewReader(tc)
		for {
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			u.mu.Lock()
			u.heads = append(u.heads, head.String())
			u.mu.Unlock()
			if _, err := io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	u.port = ln.Addr().(*net.TCPAddr).Port
	return u
}

// h2Exchange CONNECTs to target, speaks HTTP/2 inside the tunnel and sends
// one request made of exactly fields (pseudo-header fields included, in
// this order, unchecked by any client library). It returns the answer's
// :status and body, or "" and what ended the stream.
func h2Exchange(t *testing.T, e *env, token, target, sni string, fields [][2]string) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte(token + ":default"))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+auth+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(c, &tls.Config{RootCAs: e.caPool, ServerName: sni, NextProtos: []string{"h2"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	_, _ = io.WriteString(tc, http2.ClientPreface)
	fr := http2.NewFramer(tc, tc)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
	status := ""
	var body bytes.Buffer
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return status, body.String() + " (" + err.Error() + ")"
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == 1 {
				status = f.PseudoValue("status")
				if f.StreamEnded() {
					return status, body.String()
				}
			}
		case *http2.DataFrame:
			if f.StreamID == 1 {
				body.Write(f.Data())
				if f.StreamEnded() {
					return status, body.String()
				}
			}
		case *http2.RSTStreamFrame:
			return "", "RST_STREAM " + f.ErrCode.String()
		case *http2.GoAwayFrame:
			return "", "GOAWAY " + f.ErrCode.String()
		}
	}
}

// TestOpaqueTargetRefused: inside an intercepted tunnel, an agent writes
// its request target as "scheme:opaque" ("https:admin/keys"), in an
// HTTP/1.1 request line or an HTTP/2 :path. net/http parses it with an
// empty path, so the rules would judge "/", while the upstream would get
// "GET admin/keys" with the credential, a path the deny rule never saw
// (servers that put a "/" before a relative target serve /admin/keys).
// The proxy refuses such a target; nothing reaches the upstream.
func TestOpaqueTargetRefused(t *testing.T) {
	e := newEnv(t, true)
	up := startHeadRecorder(t, e)
	host := "api.test:" + itoa(up.port)
	svc := bearer("api", "api.test", "API_KEY")
	svc.Methods = []string{"GET", "POST"}
	svc.Paths = &apitype.PathRules{Deny: []string{"/admin*"}}
	e.setup(map[string]string{"API_KEY": secretValue}, svc)
	tok := e.agent("bot", "proxy")

	for _, raw := range []string{
		"GET https:admin/keys HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		"POST https:admin/delete HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 2\r\n\r\n{}",
		"GET x:admin HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
	} {
		tc, br := e.rawConnect(t, host, tok, "api.test")
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(tc, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tc.Close()
		if line := strings.SplitN(raw, "\r\n", 2)[0]; resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"bad_request"`) {
			t.Errorf("%q: %d %s, want 400 bad_request", line, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"https:admin/keys", "x:admin"} {
		st, body := h2Exchange(t, e, tok, host, "api.test",
			[][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", path}})
		// Go's HTTP/2 server may refuse such a :path itself (RST_STREAM);
		// either way it must not reach the upstream (checked below).
		if st != "" && (st != "400" || !strings.Contains(body, `"bad_request"`)) {
			t.Errorf("HTTP/2 :path %q: %s %s, want 400 bad_request", path, st, body)
		}
	}
	if heads := up.all(); len(heads) != 0 {
		t.Errorf("the upstream received %d requests, want none:\n%s", len(heads), strings.Join(heads, "\n"))
	}
}

// TestHTTP2TargetTricksStayOnTheTunnelsHost: inside a tunnel opened for
// the service's host, an HTTP/2 agent names another host in :authority or
// in a host field, or asks for http. The upstream only ever sees requests
// for the CONNECT target, over TLS, with its own credential.
func TestHTTP2TargetTricksStayOnTheTunnelsHost(t *testing.T) {
	e := newEnv(t, true)
	up := startHeadRecorder(t, e)
	host := "api.test:" + itoa(up.port)
	other := "other.test:" + itoa(up.port)
	e.setup(map[string]string{"API_KEY": secretValue, "OTHER_KEY": "other_SECRET_value_987654"},
		bearer("api", "api.test", "API_KEY"), bearer("other", "other.test", "OTHER_KEY"))
	tok := e.agent("bot", "proxy")
	for name, c := range map[string]struct {
		fields [][2]string
		want   string
	}{
		"authority names another host":     {[][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", other}, {":path", "/x"}}, "403"},
		"no authority, host names another": {[][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/x"}, {"host", other}}, "403"},
		"host field names another host":    {[][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", host}, {":path", "/x"}, {"host", other}}, "200"},
		"scheme http":                      {[][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", host}, {":path", "/x"}}, "200"},
	} {
		if st, body := h2Exchange(t, e, tok, host, "api.test", c.fields); st != c.want {
			t.Errorf("%s: %s %.200s, want %s", name, st, body, c.want)
		}
	}
	heads := up.all()
	if len(heads) != 2 {
		t.Errorf("the upstream received %d requests, want 2 (the host field and the http scheme cases)", len(heads))
	}
	for _, h := range heads {
		if strings.Contains(strings.ToLower(h), "other.test") || strings.Contains(h, "other_SECRET") || !strings.Contains(h, "Host: "+host+"\r\n") {
			t.Errorf("the upstream received another host's name or credential:\n%s", h)
		}
	}
}
