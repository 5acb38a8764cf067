package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

func substService(t testing.TB, placeholder string, in ...string) (*service.Service, bool) {
	s, err := service.FromAPI(apitype.Service{Name: "svc", Host: "api.example.com", Auth: apitype.ServiceAuth{Type: "passthrough"},
		Substitutions: []apitype.Substitution{{Key: "SECRET_KEY", Placeholder: placeholder, In: in}}}, "")
	if err != nil {
		return nil, false
	}
	return &s, true
}

func TestBodySubstitutionEncodesByContentType(t *testing.T) {
	s, ok := substService(t, "__SECRET__", "body")
	if !ok {
		t.Fatal("service refused")
	}
	val := []byte(`a"b&c d/é`)
	lookup := func(string) ([]byte, bool) { return val, true }
	cases := []struct{ ct, body, want string }{
		{"application/json", `{"k":"__SECRET__"}`, `{"k":"a\"b&c d/é"}`},
		{"application/vnd.api+json", `{"k":"__SECRET__"}`, `{"k":"a\"b&c d/é"}`},
		{"application/x-www-form-urlencoded", `k=__SECRET__&x=1`, `k=` + url.QueryEscape(string(val)) + `&x=1`},
		{"text/plain", `key: __SECRET__`, `key: a"b&c d/é`},
		{"multipart/form-data; boundary=x", `__SECRET__`, `__SECRET__`},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("POST", "https://api.example.com/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", c.ct)
		if err := applySubstitutions(r, s, lookup); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r.Body)
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.ct, got, c.want)
		}
		if r.ContentLength != int64(len(got)) && !strings.HasPrefix(c.ct, "multipart/") {
			t.Errorf("%s: Content-Length %d for %d bytes", c.ct, r.ContentLength, len(got))
		}
		if c.ct == "application/json" {
			var m map[string]string
			if err := json.Unmarshal(got, &m); err != nil || m["k"] != string(val) {
				t.Errorf("JSON body no longer decodes to the value: %s", got)
			}
		}
	}
	// Compressed bodies are left alone.
	r, _ := http.NewRequest("POST", "https://api.example.com/", strings.NewReader("__SECRET__"))
	r.Header.Set("Content-Encoding", "gzip")
	_ = applySubstitutions(r, s, lookup)
	if got, _ := io.ReadAll(r.Body); string(got) != "__SECRET__" {
		t.Errorf("a Content-Encoding body was rewritten: %s", got)
	}
}

func TestHeaderSubstitutionRefusesLineBreaks(t *testing.T) {
	s, _ := substService(t, "__SECRET__", "header")
	r, _ := http.NewRequest("GET", "https://api.example.com/", nil)
	r.Header.Set("X-Key", "__SECRET__")
	if err := applySubstitutions(r, s, func(string) ([]byte, bool) { return []byte("a\r\nInjected: 1"), true }); err == nil {
		t.Fatal("a value with CR/LF was put into a header")
	}
	if err := applySubstitutions(r, s, func(string) ([]byte, bool) { return []byte("fine"), true }); err != nil || r.Header.Get("X-Key") != "fine" {
		t.Fatalf("header substitution: %v %q", err, r.Header.Get("X-Key"))
	}
}

func TestUndeclaredSurfacesAreNotScanned(t *testing.T) {
	s, _ := substService(t, "__SECRET__", "query")
	r, _ := http.NewRequest("POST", "https://api.example.com/__SECRET__?q=__SECRET__", strings.NewReader("__SECRET__"))
	r.Header.Set("X-Key", "__SECRET__")
	_ = applySubstitutions(r, s, func(string) ([]byte, bool) { return []byte("VALUE"), true })
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/__SECRET__" || r.Header.Get("X-Key") != "__SECRET__" || string(body) != "__SECRET__" || r.URL.Query().Get("q") != "VALUE" {
		t.Fatalf("path %q header %q body %q query %q", r.URL.Path, r.Header.Get("X-Key"), body, r.URL.RawQuery)
	}
}

// FuzzSubstitute runs every surface over arbitrary requests: no panic, the
// placeholder never survives on a declared surface, the body length header
// stays true, and no CR/LF ever lands in a header.
func FuzzSubstitute(f *testing.F) {
	f.Add("/a/__SECRET__", "q=__SECRET__", "__SECRET__", "application/json", `{"a":"__SECRET__"}`, "v\"a l/ue")
	f.Add("/", "", "", "application/x-www-form-urlencoded", "a=__SECRET__", "x&y=z")
	f.Add("/%2F__SECRET__", "a=%zz", "pre__SECRET__post", "text/plain", "__SECRET____SECRET__", "\r\n")
	s, ok := substService(f, "__SECRET__", "path", "query", "header", "body")
	if !ok {
		f.Fatal("service refused")
	}
	f.Fuzz(func(t *testing.T, path, query, header, ct, body, value string) {
		u := &url.URL{Scheme: "https", Host: "api.example.com", Path: path, RawQuery: query}
		r := &http.Request{Method: "POST", URL: u, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		if !strings.ContainsAny(ct, "\r\n\x00") {
			r.Header.Set("Content-Type", ct)
		}
		if header != "" && !strings.ContainsAny(header, "\r\n\x00") {
			r.Header.Set("X-Key", header)
		}
		err := applySubstitutions(r, s, func(string) ([]byte, bool) { return []byte(value), true })
		if err != nil {
			if !strings.ContainsAny(value, "\r\n") {
				t.Fatalf("unexpected refusal: %v", err)
			}
			return
		}
		for _, vs := range r.Header {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n") {
					t.Fatalf("line break in a header: %q", v)
				}
			}
		}
		if !strings.Contains(value, "__SECRET__") && strings.Contains(r.URL.Path, "__SECRET__") {
			t.Fatalf("placeholder left in path %q", r.URL.Path)
		}
		got, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Length") != "" && r.Header.Get("Content-Length") != strconv.Itoa(len(got)) {
			t.Fatalf("Content-Length %s for %d bytes", r.Header.Get("Content-Length"), len(got))
		}
		if !strings.Contains(body, "__SECRET__") && !bytes.Equal(got, []byte(body)) {
			t.Fatalf("a body without the placeholder changed")
		}
	})
}
