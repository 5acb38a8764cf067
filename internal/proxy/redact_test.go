package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/redact"
)

// The credentials of the redaction tests, and every form in which the
// proxy puts them on the wire.
const (
	rdBearer  = "sk-live-REDACTME-0123456789"
	rdUser    = "robot@example.test"
	rdPass    = "pa55/word+with=chars"
	rdCustom  = "cust_9f8e7d6c5b4a3210"
	rdAccount = "acct/42 x&y-0001"
)

var rdBasic = base64.StdEncoding.EncodeToString([]byte(rdUser + ":" + rdPass))

// rdForbidden is what an agent must never read: each value and the
// encodings the proxy produced.
var rdForbidden = []string{rdBearer, rdUser, rdPass, rdCustom, rdAccount, rdBasic, url.QueryEscape(rdAccount), url.QueryEscape(rdPass)}

// rdServices cover each auth type, on path scopes of one host.
func rdServices() []apitype.Service {
	return []apitype.Service{
		{Name: "bearer", Host: "api.test/bearer/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}},
		{Name: "basic", Host: "api.test/basic/*", Auth: apitype.ServiceAuth{Type: "basic", Username: "BASIC_USER", Password: "BASIC_PASS"}},
		{Name: "custom", Host: "api.test/custom/*", Auth: apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Api-Key": "key={{ CUSTOM_KEY }}"}}},
		{Name: "subst", Host: "api.test/sub/*", Auth: apitype.ServiceAuth{Type: "passthrough"},
			Substitutions: []apitype.Substitution{{Key: "ACCOUNT_ID", Placeholder: "__ACCOUNT__", In: []string{"query", "header"}}}},
	}
}

func rdCreds() map[string]string {
	return map[string]string{"API_KEY": rdBearer, "BASIC_USER": rdUser, "BASIC_PASS": rdPass, "CUSTOM_KEY": rdCustom, "ACCOUNT_ID": rdAccount}
}

// echoHandler is a debug endpoint: it repeats the request's headers, URL
// and body, in a header, a trailer and the body, the body in pieces of 7
// bytes flushed one by one (every value is split across writes, chunks and
// TCP segments).
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	js, _ := json.Marshal(map[string]any{"url": r.URL.String(), "headers": r.Header, "body": string(body)})
	w.Header().Set("Trailer", "X-Echo-Trailer")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization"))
	w.Header().Set("X-Echo-Api-Key", r.Header.Get("X-Api-Key"))
	w.Header().Set("X-Echo-Account", r.Header.Get("X-Account"))
	for _, v := range []string{strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), strings.TrimPrefix(r.Header.Get("X-Api-Key"), "key=")} {
		if v != "" && !strings.ContainsAny(v, " :/+=@") {
			w.Header().Set("X-Name-"+v, "1") // the value as a header name
		}
	}
	for len(js) > 0 {
		n := min(7, len(js))
		_, _ = w.Write(js[:n])
		w.(http.Flusher).Flush()
		js = js[n:]
	}
	w.Header().Set("X-Echo-Trailer", r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
}

// errorPageHandler quotes the Authorization header in an HTML error page
// of known length.
func errorPageHandler(w http.ResponseWriter, r *http.Request) {
	page := "<html><h1>401 Unauthorized</h1><p>The credentials you sent were rejected:</p><pre>Authorization: " +
		r.Header.Get("Authorization") + "\nX-Api-Key: " + r.Header.Get("X-Api-Key") + "\nURL: " + r.URL.String() + "</pre></html>"
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", itoa(len(page)))
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(w, page[:len(page)/2])
	w.(http.Flusher).Flush()
	_, _ = io.WriteString(w, page[len(page)/2:])
}

// dump is everything an agent reads of a response.
func dump(t *testing.T, resp *http.Response) string {
	t.Helper()
	got, _ := dumpBody(t, resp)
	return got
}

// dumpBody is dump, and the body alone.
func dumpBody(t *testing.T, resp *http.Response) (string, string) {
	t.Helper()
	body := read(t, resp)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", resp.Status)
	for _, h := range []http.Header{resp.Header, resp.Trailer} {
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(h[k], ", "))
		}
	}
	b.WriteString(body)
	return b.String(), body
}

// assertRedacted fails when got holds any forbidden form, or no placeholder.
func assertRedacted(t *testing.T, what, got string) {
	t.Helper()
	for _, f := range rdForbidden {
		if strings.Contains(got, f) {
			t.Errorf("%s: the agent received %q:\n%s", what, f, got)
		}
	}
	if !strings.Contains(got, redact.Placeholder) {
		t.Errorf("%s: no placeholder in what the agent received:\n%s", what, got)
	}
}

// absoluteGet sends an absolute-form https:// request straight to the
// proxy (no CONNECT) and returns the response.
func (e *env) absoluteGet(t *testing.T, token, rawURL string, hdr http.Header) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	u, _ := url.Parse(rawURL)
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n", rawURL, u.Host, base64.StdEncoding.EncodeToString([]byte(token+":default")))
	_ = hdr.Write(&b)
	b.WriteString("\r\n")
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// An upstream that echoes requests (a debug endpoint) or quotes the
// Authorization header in an error page hands back every injected value:
// bearer, basic (the base64 the proxy made, and the decoded parts),
// custom header templates, substitutions (raw and URL-encoded). Over
// intercepted HTTP/1.1 and HTTP/2 and absolute-form, in headers, header
// names, trailers, chunked bodies split into 7-byte writes and
// Content-Length bodies, the agent gets the placeholder and never a value.
func TestRedactionOfEchoedCredentials(t *testing.T) {
	e := newEnv(t, true)
	e.setup(rdCreds(), rdServices()...)
	tok := e.agent("bot", "proxy")
	paths := []string{"/bearer/x", "/basic/x", "/custom/x", "/sub/x?account=__ACCOUNT__"}
	for _, handler := range []struct {
		name string
		h    http.HandlerFunc
	}{{"echo", echoHandler}, {"error page", errorPageHandler}} {
		e.handler.Store(handler.h)
		for _, ingress := range []string{"connect-h1", "connect-h2", "absolute"} {
			for _, path := range paths {
				what := handler.name + " " + ingress + " " + path
				hdr := http.Header{"X-Account": {"__ACCOUNT__"}}
				var resp *http.Response
				if ingress == "absolute" {
					resp = e.absoluteGet(t, tok, "https://"+e.upstream+path, hdr)
				} else {
					req, _ := http.NewRequest("GET", "https://"+e.upstream+path, nil)
					req.Header = hdr
					var err error
					if resp, err = e.client(tok, "default", ingress == "connect-h2").Do(req); err != nil {
						t.Fatalf("%s: %v", what, err)
					}
				}
				got, body := dumpBody(t, resp)
				assertRedacted(t, what, got)
				// Header names change case (canonical form, HTTP/2): a
				// value in a name is caught whatever its case.
				for _, v := range []string{rdBearer, rdCustom} {
					if strings.Contains(strings.ToLower(got), strings.ToLower(v)) {
						t.Errorf("%s: the agent received %q in another case:\n%s", what, v, got)
					}
				}
				// The upstream's Content-Length is gone: the agent sees
				// none, or that of the redacted body.
				if resp.ContentLength != -1 && resp.ContentLength != int64(len(body)) {
					t.Errorf("%s: Content-Length %d for a body of %d bytes", what, resp.ContentLength, len(body))
				}
				// The upstream did get the real credential.
				seen := e.seen.last()
				if !strings.Contains(fmt.Sprint(seen.Header, seen.URL.RawQuery), map[string]string{
					"/bearer/x": rdBearer, "/basic/x": rdBasic, "/custom/x": rdCustom, "/sub/x?account=__ACCOUNT__": url.QueryEscape(rdAccount),
				}[path]) {
					t.Errorf("%s: the upstream did not get the credential: %v %s", what, seen.Header, seen.URL.RawQuery)
				}
			}
		}
	}
	st := e.proxy.RedactionStats()
	if st.Header == 0 || st.Body == 0 {
		t.Errorf("redaction counters: %+v", st)
	}
	for _, f := range rdForbidden {
		if strings.Contains(e.logText(), f) {
			t.Errorf("a credential form reached the log: %q", f)
		}
	}
}

// A service a user opted out of redaction (binary downloads) passes
// responses through byte for byte, with their Content-Length.
func TestRedactionOptOut(t *testing.T) {
	e := newEnv(t, true)
	off := false
	svc := bearer("downloads", "api.test", "API_KEY")
	svc.RedactResponses = &off
	e.setup(map[string]string{"API_KEY": rdBearer}, svc)
	e.handler.Store(http.HandlerFunc(errorPageHandler))
	resp, err := e.client(e.agent("bot", "proxy"), "default", false).Get("https://" + e.upstream + "/file")
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, resp); !strings.Contains(got, rdBearer) || resp.ContentLength <= 0 {
		t.Fatalf("opted-out service: Content-Length %d, body:\n%s", resp.ContentLength, got)
	}
}

// Requests no service matched inject nothing, so nothing is redacted: the
// agent's own data comes back as it was.
func TestNoRedactionWithoutInjection(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, bearer("api", "api.test/only/*", "API_KEY"))
	e.handler.Store(http.HandlerFunc(echoHandler))
	req, _ := http.NewRequest("GET", "https://"+e.upstream+"/x", nil)
	req.Header.Set("Authorization", "Bearer agent-own-token-123456")
	resp, err := e.client(e.agent("bot", "proxy"), "default", false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, resp); !strings.Contains(got, "agent-own-token-123456") || strings.Contains(got, redact.Placeholder) {
		t.Fatalf("passthrough response changed:\n%s", got)
	}
}

// Upstreams that answer compressed regardless: gzip and deflate are
// decoded and redacted; an encoding the proxy cannot decode (br) is
// refused with 502 response_not_scannable, never passed on. The agent's
// Accept-Encoding and Range never reach the upstream on a brokered
// request (a Range could cut a value in two, each half harmless alone).
func TestRedactionOfCompressedResponses(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	page := strings.Repeat("padding ", 100) + "you sent Authorization: Bearer " + rdBearer
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip", "/x-gzip": // x-gzip: not decoded by Go's transport, so by the proxy's own decoder
			w.Header().Set("Content-Encoding", strings.TrimPrefix(r.URL.Path, "/"))
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, page)
			_ = zw.Close()
		case "/gzip-br":
			w.Header().Set("Content-Encoding", "gzip, br")
			_, _ = io.WriteString(w, page)
		case "/gzip-twice": // two lines, two layers: nothing may undo one layer and hide the other
			w.Header().Add("Content-Encoding", "gzip")
			w.Header().Add("Content-Encoding", "gzip")
			var inner bytes.Buffer
			zw := gzip.NewWriter(&inner)
			_, _ = io.WriteString(zw, page)
			_ = zw.Close()
			zw = gzip.NewWriter(w)
			_, _ = zw.Write(inner.Bytes())
			_ = zw.Close()
		case "/deflate":
			w.Header().Set("Content-Encoding", "deflate")
			var b bytes.Buffer
			zw := zlib.NewWriter(&b)
			_, _ = io.WriteString(zw, page)
			_ = zw.Close()
			_, _ = w.Write(b.Bytes())
		case "/br":
			w.Header().Set("Content-Encoding", "br")
			_, _ = io.WriteString(w, page) // not really brotli: it must not matter
		case "/range":
			http.ServeContent(w, r, "page.txt", nowUTC(), strings.NewReader(page))
		}
	}))
	for _, h2 := range []bool{false, true} {
		c := e.client(tok, "default", h2)
		for _, path := range []string{"/gzip", "/x-gzip", "/deflate"} {
			req, _ := http.NewRequest("GET", "https://"+e.upstream+path, nil)
			req.Header.Set("Accept-Encoding", "br, zstd, gzip, deflate")
			resp, err := c.Do(req) // the agent's transport does not decode: it asked itself
			if err != nil {
				t.Fatal(err)
			}
			got := dump(t, resp)
			assertRedacted(t, path, got)
			if resp.Header.Get("Content-Encoding") != "" || !strings.Contains(got, "padding padding") {
				t.Errorf("%s h2=%v: not decoded for the agent:\n%.200s", path, h2, got)
			}
			if ae := e.seen.last().Header.Get("Accept-Encoding"); strings.Contains(ae, "br") {
				t.Errorf("%s: the agent's Accept-Encoding %q reached the upstream", path, ae)
			}
		}
		req, _ := http.NewRequest("GET", "https://"+e.upstream+"/br", nil)
		req.Header.Set("Accept-Encoding", "br")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		brokerError(t, resp, http.StatusBadGateway, "response_not_scannable")
		resp, err = c.Get("https://" + e.upstream + "/gzip-br")
		if err != nil {
			t.Fatal(err)
		}
		brokerError(t, resp, http.StatusBadGateway, "response_not_scannable")
		// On every upstream leg: a GET takes the fast one, a POST
		// http.Transport's, which once undid the first gzip layer itself.
		for _, method := range []string{"GET", "POST"} {
			req, _ := http.NewRequest(method, "https://"+e.upstream+"/gzip-twice", strings.NewReader("x"))
			if method == "GET" {
				req.Body, req.ContentLength = nil, 0
			}
			req.Header.Set("Accept-Encoding", "identity")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			brokerError(t, resp, http.StatusBadGateway, "response_not_scannable")
		}

		req, _ = http.NewRequest("GET", "https://"+e.upstream+"/range", nil)
		req.Header.Set("Range", "bytes=830-845")
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got := dump(t, resp)
		if resp.StatusCode != http.StatusOK || e.seen.last().Header.Get("Range") != "" {
			t.Errorf("Range reached the upstream: %s", got)
		}
		assertRedacted(t, "range", got)
	}
	if e.proxy.RedactionStats().Refused == 0 {
		t.Error("the refused response was not counted")
	}
}

// Server-sent events: a value in an event is replaced, and an event is
// passed on as soon as it is written, not held for the next one (only a
// possible start of a value is held back). A value split across two
// events' writes is still caught.
func TestRedactionOfServerSentEvents(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	next := make(chan struct{})
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		auth := r.Header.Get("Authorization")
		events := []string{
			"data: {\"you_sent\":\"" + auth + "\"}\n\n",
			"data: split " + auth[:15],
			auth[15:] + " done\n\n",
			"data: last\n\n",
		}
		for i, ev := range events {
			_, _ = io.WriteString(w, ev)
			w.(http.Flusher).Flush()
			if i == 1 {
				continue // the agent cannot see a full event yet
			}
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	for _, h2 := range []bool{false, true} {
		resp, err := e.client(tok, "default", h2).Get("https://" + e.upstream + "/events")
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for i, want := range []string{
			"data: {\"you_sent\":\"Bearer " + redact.Placeholder + "\"}\n\n",
			"data: split Bearer " + redact.Placeholder + " done\n\n",
			"data: last\n\n",
		} {
			// Each event arrives while the upstream waits for us: a
			// proxy that buffered it would leave this read blocked.
			var got strings.Builder
			for !strings.HasSuffix(got.String(), "\n\n") {
				line, err := br.ReadString('\n')
				got.WriteString(line)
				if err != nil {
					t.Fatalf("h2=%v event %d: %q %v", h2, i, got.String(), err)
				}
			}
			if got.String() != want {
				t.Errorf("h2=%v event %d: %q, want %q", h2, i, got.String(), want)
			}
			next <- struct{}{}
		}
		resp.Body.Close()
	}
}

// Non-websocket upgrades of a brokered request are refused: the protocol
// after the switch could not be scanned.
func TestRedactionRefusesOtherUpgrades(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, bearer("api", "api.test", "API_KEY"))
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw-echo\r\n\r\n"+r.Header.Get("Authorization"))
		_ = brw.Flush()
	}))
	tc, br := e.rawConnect(t, e.upstream, e.agent("bot", "proxy"), "api.test")
	_, _ = io.WriteString(tc, "GET /raw HTTP/1.1\r\nHost: "+e.upstream+"\r\nConnection: Upgrade\r\nUpgrade: raw-echo\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, resp)
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(got, rdBearer) {
		t.Fatalf("a raw upgrade got through:\n%s", got)
	}
}

// An informational response (103 Early Hints) quoting the credential in a
// header is redacted too.
func TestRedactionOfInformationalHeaders(t *testing.T) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, bearer("api", "api.test", "API_KEY"))
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css?auth="+r.Header.Get("Authorization")+">; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = io.WriteString(w, "ok")
	}))
	for _, h2 := range []bool{false, true} {
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, fmt.Sprint(code, h))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "https://"+e.upstream+"/", nil)
		resp, err := e.client(e.agent("bot"+fmt.Sprint(h2), "proxy"), "default", h2).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		read(t, resp)
		if len(hints) != 1 {
			t.Fatalf("h2=%v: informational responses %q", h2, hints)
		}
		assertRedacted(t, "103", hints[0])
	}
}

// An upstream that answers with a malformed response quoting the
// credential makes Go's transport fail with an error that quotes the
// line: the broker's 502 message (and its log) must not carry it, even
// for a service that opted out of response redaction (the broker's own
// words are not the upstream's response).
func TestRedactionOfUpstreamErrors(t *testing.T) {
	off := false
	optedOut := bearer("api", "api.test", "API_KEY")
	optedOut.RedactResponses = &off
	for _, svc := range []apitype.Service{bearer("api", "api.test", "API_KEY"), optedOut} {
		testUpstreamErrorScrubbed(t, svc)
	}
}

func testUpstreamErrorScrubbed(t *testing.T, svc apitype.Service) {
	e := newEnv(t, true)
	e.setup(map[string]string{"API_KEY": rdBearer}, svc)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, r.Header.Get("Authorization")+" says hello\r\n\r\n")
	}))
	tok := e.agent("bot", "proxy")
	for _, h2 := range []bool{false} { // a hijacked HTTP/1.1 upstream
		resp, err := e.client(tok, "default", h2).Get("https://" + e.upstream + "/")
		if err != nil {
			t.Fatal(err)
		}
		got := dump(t, resp)
		if resp.StatusCode != http.StatusBadGateway || strings.Contains(got, rdBearer) {
			t.Fatalf("the broker's error quotes the credential:\n%s", got)
		}
	}
	if strings.Contains(e.logText(), rdBearer) {
		t.Fatal("the credential reached the log through an upstream error")
	}
}
