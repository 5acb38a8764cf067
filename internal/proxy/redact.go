package proxy

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"unicode/utf16"

	"github.com/agent-vault/agent-vault/internal/redact"
	"github.com/agent-vault/agent-vault/internal/service"
)

// Response redaction (docs/proxy.md, "Response redaction"): when a
// service with credentials matched a request, every value of those
// credentials, and each encoding the proxy may have put on the wire, is
// replaced with redact.Placeholder in the response's headers, body,
// trailers and websocket frames before the agent sees it. Requests no
// service matched, and services with redact_responses: false, are not
// touched.

// errNotScannable refuses a response the proxy cannot scan for values.
var errNotScannable = errors.New("response cannot be scanned for credential values")

// redactionCounters count what redaction did, for the metrics.
type redactionCounters struct {
	header, body, websocket, refused atomic.Uint64
}

// RedactionStats is a snapshot of the redaction counters.
type RedactionStats struct {
	Header, Body, WebSocket uint64 // values replaced, by where they were found
	Refused                 uint64 // responses refused as not scannable
}

// RedactionStats reports what response redaction did since start.
func (p *Proxy) RedactionStats() RedactionStats {
	c := &p.redactions
	return RedactionStats{Header: c.header.Load(), Body: c.body.Load(), WebSocket: c.websocket.Load(), Refused: c.refused.Load()}
}

// redactionFor compiles the values a response to a request of s must not
// carry: each credential value s references (keys), and the base64 of
// basic auth, raw and in each encoding of reflectedForms. nil when s holds
// nothing long enough to redact. The caller applies it to responses only
// when s did not opt out; errors and logs always.
func redactionFor(s *service.Service, keys []string, lookup func(string) ([]byte, bool), inject map[string]string) *redact.Set {
	vals := make([][]byte, 0, 4*len(keys)+2)
	for _, k := range keys {
		v, ok := lookup(k)
		if !ok || len(v) < redact.MinLen {
			continue
		}
		vals = append(vals, v)
		vals = reflectedForms(vals, string(v))
	}
	if s.Auth.Type == service.AuthBasic {
		if b64, ok := strings.CutPrefix(inject["Authorization"], "Basic "); ok {
			for _, f := range []string{b64, strings.TrimRight(b64, "=")} {
				vals = append(vals, []byte(f))
				vals = reflectedForms(vals, f)
			}
		}
	}
	return redact.New(vals)
}

// reflectedForms appends to vals the forms v takes when an upstream writes
// it back through a common server stack, other than v itself: URL escaping
// (urlEscapers, each also with lower-case hex, as .NET writes it), once
// and twice, as a URL that carried the value is when it is reflected
// inside another URL's query; JSON string escaping (with and without HTML
// escaping; each also with '/' as '\/', as PHP writes it; and as .NET's
// System.Text.Json escapes every markup character, + included) and HTML
// escaping (Go's html/template, which also escapes '+', Go's
// html.EscapeString, Python's html.escape, PHP's htmlspecialchars).
// Nothing for a value no encoding changes.
// docs/proxy.md ("Response redaction") lists them.
func reflectedForms(vals [][]byte, v string) [][]byte {
	if plain([]byte(v)) {
		return vals // no encoding changes it
	}
	seen := map[string]bool{v: true}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			vals = append(vals, []byte(f))
		}
	}
	for _, once := range urlEscapers {
		f := once(v)
		lower := lowerHexEscapes(f)
		add(f)
		add(lower)
		// Escaped twice: a URL that carried the value (a query
		// substitution, say), reflected inside another URL's query, as a
		// login redirect's ?next= does (TestRedactionOfAValueEscapedTwice);
		// by the same stack both times, so in one case of hex.
		for _, again := range urlEscapers {
			add(again(f))
			add(lowerHexEscapes(again(lower)))
		}
	}
	for _, html := range []bool{true, false} {
		j := jsonEscape(v, html)
		add(j)
		add(strings.ReplaceAll(j, "/", `\/`))
	}
	for _, hex := range []string{"0123456789ABCDEF", "0123456789abcdef"} {
		add(jsonEscapeEveryMarkup(v, hex))
	}
	for _, r := range htmlEscapers {
		add(r.Replace(v))
	}
	return vals
}

// urlEscapers escape text for a URL as Go's url.QueryEscape and
// url.PathEscape, Python's quote with an empty safe set (RFC 3986 strict)
// and with its default '/', and JavaScript's encodeURIComponent do.
var urlEscapers = []func(string) string{
	url.QueryEscape, url.PathEscape,
	func(v string) string { return percentEncode(v, "") },
	func(v string) string { return percentEncode(v, "/") },
	func(v string) string { return percentEncode(v, "!'()*") },
}

// htmlEscapers write text into HTML as Go's html/template (which escapes
// '+' and turns NUL into U+FFFD), Go's html.EscapeString, Python's
// html.escape and PHP's htmlspecialchars (ENT_QUOTES) do.
var htmlEscapers = []*strings.Replacer{
	strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;"),
	strings.NewReplacer(`"`, "&#34;", "&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;"),
	strings.NewReplacer(`"`, "&quot;", "&", "&amp;", "'", "&#x27;", "<", "&lt;", ">", "&gt;"),
	strings.NewReplacer(`"`, "&quot;", "&", "&amp;", "'", "&#039;", "<", "&lt;", ">", "&gt;"),
}

// percentEncode escapes every byte of v but the RFC 3986 unreserved ones
// and those in keep, with upper-case hex.
func percentEncode(v, keep string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if plain([]byte{c}) || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// lowerHexEscapes returns s with the hex digits of its percent-escapes in
// lower case.
func lowerHexEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if b[j] >= 'A' && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}

// plain reports whether v holds only characters no URL, JSON or HTML
// encoding changes (letters, digits, - . _ ~).
func plain(v []byte) bool {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// jsonEscapeEveryMarkup is v inside a JSON string as .NET's
// System.Text.Json writes it by default: every character that means
// something in HTML or JavaScript (" & ' + < > `) and everything outside
// printable ASCII as a \u escape, with the hex digits given.
func jsonEscapeEveryMarkup(v, hex string) string {
	return jsonString(v, hex, func(r rune) bool { return r > '~' || strings.ContainsRune("\"&'+<>`", r) })
}

// jsonEscape is v as it appears inside a JSON string, written by an
// encoder that escapes HTML characters (html: Go's default) or one that
// does not (JavaScript's, Python's).
func jsonEscape(v string, html bool) string {
	return jsonString(v, "0123456789abcdef", func(r rune) bool {
		return html && (r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029')
	})
}

// jsonString is v inside a JSON string: a backslash and the control
// characters that have one with a short escape (\\ \n \r \t \b \f, as
// every encoder writes them), what escape selects and the other control
// characters as \u escapes (UTF-16, with the hex digits given), and '"'
// as \" unless escape selects it; v itself when nothing needs escaping.
func jsonString(v, hex string, escape func(rune) bool) string {
	i := strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r == '"' || r == '\\' || escape(r) })
	if i < 0 {
		return v
	}
	var b strings.Builder
	b.WriteString(v[:i])
	u := func(r rune) {
		b.WriteString(`\u`)
		for s := 12; s >= 0; s -= 4 {
			b.WriteByte(hex[r>>s&0xf])
		}
	}
	for _, r := range v[i:] {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case escape(r) && r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			u(r1)
			u(r2)
		case escape(r) || r < ' ':
			u(r)
		case r == '"':
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// secretsOf is the credential values of the request r brokers (nil when
// none), for scrubbing errors.
func secretsOf(r *http.Request) *redact.Set {
	if out, _ := r.Context().Value(outboundKey{}).(*outbound); out != nil {
		return out.secrets
	}
	return nil
}

// redactRequest prepares an outbound request whose response is redacted:
// no Accept-Encoding of the agent's (no leg asks for a compressed answer;
// one that comes compressed anyway is decoded by redactResponse, which
// refuses a list of codings), no Range (slices of a response could each
// hold part of a value, never a whole one) and no websocket extensions
// (compressed frames could not be scanned).
func redactRequest(h http.Header) {
	for _, k := range []string{"Accept-Encoding", "Range", "If-Range", "Sec-WebSocket-Extensions"} {
		h.Del(k)
	}
}

// redactHeader replaces values in h's field values, and drops fields whose
// name holds one in any case. It returns the number of values replaced.
func redactHeader(h http.Header, set *redact.Set) int {
	n := 0
	for k, vs := range h {
		if set.InName(k) { // names change case on the way: compare without it
			delete(h, k)
			n++
			continue
		}
		for i, v := range vs {
			if r, c := set.String(v); c > 0 {
				vs[i], n = r, n+c
			}
		}
	}
	return n
}

// redactResponse is ModifyResponse's part for brokered requests: headers
// now, the body (decoded first when gzip or deflate) and trailers as they
// stream, websocket frames after an upgrade. Anything else compressed, and
// other upgrades, cannot be scanned and are refused.
func (p *Proxy) redactResponse(resp *http.Response, out *outbound) error {
	set := out.redact
	p.redactions.header.Add(uint64(redactHeader(resp.Header, set)))
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
			p.redactions.refused.Add(1)
			return errNotScannable
		}
		rwc, ok := resp.Body.(io.ReadWriteCloser)
		if !ok {
			return errNotScannable
		}
		resp.Body = p.redactWebSocket(rwc, set)
		return nil
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	var src io.Reader = resp.Body
	encs := resp.Header.Values("Content-Encoding")
	if len(encs) > 1 {
		p.redactions.refused.Add(1)
		return errNotScannable
	}
	switch enc := ""; {
	case len(encs) == 1:
		enc = strings.ToLower(strings.TrimSpace(encs[0]))
		switch enc {
		case "", "identity":
		case "gzip", "x-gzip":
			src = &lazyDecoder{src: src, open: func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }}
		case "deflate":
			src = &lazyDecoder{src: src, open: func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }}
		default: // br, zstd, compress, a list of codings: nothing to decode them with
			p.redactions.refused.Add(1)
			return errNotScannable
		}
		resp.Header.Del("Content-Encoding")
		if p.o.MaxResponseBytes > 0 { // the limit holds for what is decoded too
			src = &limitedBody{rc: io.NopCloser(src), left: p.o.MaxResponseBytes, log: p.log, host: resp.Request.URL.Host}
		}
	}
	// The length changes with every replacement: the body goes out with no
	// declared length (chunked on HTTP/1.1; net/http computes one for a
	// short body). resp.ContentLength is left as the upstream said, only
	// so that the ReverseProxy flushes as it would have (every write for
	// streams of unknown length and event streams, not for the rest).
	resp.Header.Del("Content-Length")
	rb := &redactedBody{rc: resp.Body, resp: resp, set: set, p: p}
	rb.r.Init(set, src)
	resp.Body = rb
	return nil
}

// redactedBody is a response body read through the redactor. Closing it
// redacts the trailers, which the transport fills in at the end of the
// body.
type redactedBody struct {
	rc     io.ReadCloser
	r      redact.Reader
	resp   *http.Response
	set    *redact.Set
	p      *Proxy
	closed bool
}

func (b *redactedBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *redactedBody) Close() error {
	err := b.rc.Close()
	if b.closed {
		return err
	}
	b.closed = true
	n := redactHeader(b.resp.Trailer, b.set)
	b.p.redactions.header.Add(uint64(n))
	b.p.redactions.body.Add(uint64(b.r.Count()))
	if total := n + b.r.Count(); total > 0 {
		b.p.log.Info("redacted credential values from a response", "host", b.resp.Request.URL.Host, "count", total)
	}
	return err
}

// lazyDecoder opens its decoder at the first read, so that a decoder
// reading a header does not block ModifyResponse, and an empty body
// decodes to nothing.
type lazyDecoder struct {
	src  io.Reader
	open func(io.Reader) (io.Reader, error)
	r    io.Reader
	err  error
}

func (d *lazyDecoder) Read(p []byte) (int, error) {
	if d.r == nil && d.err == nil {
		d.r, d.err = d.open(d.src) // an empty body: io.EOF, so nothing
	}
	if d.err != nil {
		return 0, d.err
	}
	return d.r.Read(p)
}

// redactWebSocket wraps an upgraded upstream connection so that what it
// sends the agent is read frame by frame through the redactor.
func (p *Proxy) redactWebSocket(rwc io.ReadWriteCloser, set *redact.Set) io.ReadWriteCloser {
	r := newWSRedactReader(bufio.NewReaderSize(rwc, 32<<10), set, func(n int) {
		p.redactions.websocket.Add(uint64(n))
	})
	return &wsRedactedConn{ReadWriteCloser: rwc, r: r}
}

// wsRedactedConn reads redacted frames and writes through.
type wsRedactedConn struct {
	io.ReadWriteCloser
	r io.Reader
}

func (c *wsRedactedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
