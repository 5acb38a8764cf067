package proxy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	htmlstd "html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/redact"
)

// reflectEncodings are the ways common server stacks write a request
// header back into a page, a JSON body or a URL (a debug endpoint, an
// error page, a redirect). Each is produced by the library that writes it
// where Go has one, or by its documented rule.
var reflectEncodings = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"Go html/template", func(s string) string {
		var b bytes.Buffer
		_ = template.Must(template.New("").Parse(`{{.}}`)).Execute(&b, s)
		return b.String()
	}},
	{"Go html.EscapeString", htmlstd.EscapeString},
	{"Python html.escape", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace},
	{"PHP htmlspecialchars", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;").Replace},
	{"JSON (Go)", func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }},
	{"JSON with escaped slashes (PHP json_encode)", func(s string) string {
		b, _ := json.Marshal(s)
		return strings.ReplaceAll(string(b[1:len(b)-1]), "/", `\/`)
	}},
	{"Go url.QueryEscape", url.QueryEscape},
	{"Go url.PathEscape", url.PathEscape},
	{"Python urllib.parse.quote (keeps /)", func(s string) string { return pctEncode(s, "/", false) }},
	{"Python quote(safe='') and RFC 3986 strict", func(s string) string { return pctEncode(s, "", false) }},
	{"JavaScript encodeURIComponent", func(s string) string { return pctEncode(s, "!'()*", false) }},
	{"JSON (.NET System.Text.Json: + < > & ' \" ` as \\u00XX)", func(s string) string {
		return strings.NewReplacer("+", `\u002B`, "<", `\u003C`, ">", `\u003E`, "&", `\u0026`, "'", `\u0027`, `"`, `\u0022`, "`", `\u0060`, `\`, `\\`).Replace(s)
	}},
	{"lower-case hex (.NET HttpUtility.UrlEncode)", func(s string) string { return lowerHex(url.QueryEscape(s)) }},
	{"lower-case hex, strict", func(s string) string { return pctEncode(s, "", true) }},
	// A URL that carried the value, escaped once more inside another URL
	// (a login redirect's ?next=, a "did you mean" link).
	{"escaped twice (Go url.QueryEscape)", func(s string) string { return url.QueryEscape(url.QueryEscape(s)) }},
	{"escaped twice (Go url.PathEscape, then url.QueryEscape)", func(s string) string { return url.QueryEscape(url.PathEscape(s)) }},
	{"escaped twice (JavaScript encodeURIComponent)", func(s string) string { return pctEncode(pctEncode(s, "!'()*", false), "!'()*", false) }},
	{"escaped twice (Python quote, keeps /)", func(s string) string { return pctEncode(pctEncode(s, "/", false), "/", false) }},
	{"escaped twice, lower-case hex", func(s string) string { return pctEncode(pctEncode(s, "", true), "", true) }},
}

// pctEncode escapes every byte but the RFC 3986 unreserved ones and keep,
// with upper- or lower-case hex.
func pctEncode(s, keep string, lower bool) string {
	hex := "0123456789ABCDEF"
	if lower {
		hex = "0123456789abcdef"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// lowerHex lowers the hex digits of s's percent-escapes.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = bytes.ToLower(b[i+1 : i+2])[0], bytes.ToLower(b[i+2 : i+3])[0]
		}
	}
	return string(b)
}

// TestRedactionOfReflectionsInOtherEncodings plays an agent whose bound
// upstream writes the request's credentials back in whatever encoding its
// stack uses: an HTML error page (Go's html/template escapes '+', which
// base64 basic credentials are full of), PHP's JSON with escaped slashes,
// and the percent-encodings of Python, JavaScript and .NET. Each comes
// back, in a header, a Location redirect and the body, for a bearer token
// and for the base64 of basic auth, and the agent gets the placeholder
// every time. (Transformations no proxy can follow — hashes, base64 or hex
// of a raw value, reversal — are listed in docs/threat-model.md.)
func TestRedactionOfReflectionsInOtherEncodings(t *testing.T) {
	// Characters every encoding above treats differently: / + = & ' " < > ! ( ) * and a space.
	const token = `tok/en+v=a&l'u"e<x>!(y)*z 0123`
	const user, pass = "robot0@example.test", "pa55>w?rd~x0" // base64: cm9i…Pnc/cmR+eDA=
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if !strings.Contains(basic, "+") || !strings.Contains(basic, "/") {
		t.Fatalf("pick a basic credential whose base64 holds + and /: %s", basic)
	}
	e := newEnv(t, true)
	e.setup(map[string]string{"TOKEN": token, "B_USER": user, "B_PASS": pass},
		apitype.Service{Name: "bearer", Host: "api.test/bearer/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "TOKEN"}},
		apitype.Service{Name: "basic", Host: "api.test/basic/*", Auth: apitype.ServiceAuth{Type: "basic", Username: "B_USER", Password: "B_PASS"}})
	tok := e.agent("bot", "proxy")
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := strings.TrimPrefix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "Basic ")
		for _, enc := range reflectEncodings {
			if enc.name == r.URL.Query().Get("enc") {
				out := enc.enc(v)
				w.Header().Set("X-Echo", out)
				w.Header().Set("Location", "https://elsewhere.test/login?next="+out)
				w.WriteHeader(http.StatusFound)
				_, _ = io.WriteString(w, "<html><pre>Authorization: "+out+"</pre></html>")
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	c := e.client(tok, "default", false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, cred := range []struct{ path, value string }{{"/bearer/x", token}, {"/basic/x", basic}} {
		for _, enc := range reflectEncodings {
			form := enc.enc(cred.value)
			resp, err := c.Get("https://" + e.upstream + cred.path + "?enc=" + url.QueryEscape(enc.name))
			if err != nil {
				t.Fatal(err)
			}
			got := dump(t, resp)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("%s %s: status %d", cred.path, enc.name, resp.StatusCode)
			}
			if strings.Contains(got, form) {
				t.Errorf("%s reflected as %s: the agent read %q", cred.path, enc.name, form)
			} else if strings.Count(got, redact.Placeholder) < 3 {
				t.Errorf("%s reflected as %s: want the placeholder in the header, the Location and the body:\n%s", cred.path, enc.name, got)
			}
		}
	}
}

// TestRedactionOfAValueEscapedTwice: a service takes its key in the query
// (a substitution the user declared). The agent asks for a page the
// upstream answers as login walls do, with a redirect whose Location
// carries the request's URL as a parameter, escaped once more. The value
// went upstream escaped once, so the Location holds it escaped twice
// ("%2F" as "%252F"): a value with '/', '+' or '=' (base64 tokens,
// AWS-style secret keys) must not come back decodable.
func TestRedactionOfAValueEscapedTwice(t *testing.T) {
	e := newEnv(t, true)
	const value = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY="
	e.setup(map[string]string{"MAPS_KEY": value}, apitype.Service{Name: "maps", Host: "api.test", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "MAPS_KEY", Placeholder: "__MAPS_KEY__", In: []string{"query"}}}})
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/login?next="+url.QueryEscape(r.URL.RequestURI()))
		w.WriteHeader(http.StatusFound)
		_, _ = io.WriteString(w, `<a href="/login?next=`+url.QueryEscape(r.URL.RequestURI())+`">log in</a>`)
	}))
	c := e.client(e.agent("bot", "proxy"), "default", false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get("https://" + e.upstream + "/data?key=__MAPS_KEY__")
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, resp)
	if seen := e.seen.last(); seen == nil || seen.URL.Query().Get("key") != value {
		t.Fatalf("the substitution did not reach the upstream: %v", seen)
	}
	for _, text := range []string{resp.Header.Get("Location"), got} {
		once, _ := url.QueryUnescape(text)
		twice, _ := url.QueryUnescape(once)
		if strings.Contains(twice, value) {
			t.Errorf("decoded twice, the answer gives the credential back: %s", twice)
		}
	}
	if strings.Count(got, redact.Placeholder) < 2 {
		t.Errorf("want the placeholder in the Location and the body:\n%s", got)
	}
}
