package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

// BenchmarkSubstitute measures applySubstitutions, which the proxy runs on
// every matched request of a service that declares substitutions: a
// request without the placeholder (the scan only), the placeholder in the
// path and the query (the default surfaces), in a header, and in a
// 1 KiB JSON body.
func BenchmarkSubstitute(b *testing.B) {
	const placeholder = "__BENCH_TOKEN__"
	value := []byte("tok/with+chars 0123456789abcdef")
	lookup := func(k string) ([]byte, bool) {
		if k == "BENCH_TOKEN" {
			return value, true
		}
		return nil, false
	}
	svc := func(in ...string) *service.Service {
		s, err := service.FromAPI(apitype.Service{
			Name: "bench-subst", Host: "api.example.com", Auth: apitype.ServiceAuth{Type: "passthrough"},
			Substitutions: []apitype.Substitution{{Key: "BENCH_TOKEN", Placeholder: placeholder, In: in}},
		}, "")
		if err != nil {
			b.Fatal(err)
		}
		return &s
	}
	jsonBody := []byte(`{"token":"` + placeholder + `","pad":"` + strings.Repeat("x", 1000) + `"}`)
	cases := []struct {
		name string
		s    *service.Service
		req  func() *http.Request
		want func(*http.Request) bool
	}{
		{"absent", svc(), func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/v1/things/42", RawQuery: "limit=10&cursor=abc"}, Header: http.Header{}}
		}, func(r *http.Request) bool { return r.URL.Path == "/v1/things/42" }},
		{"path+query", svc(), func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/v1/" + placeholder + "/things", RawQuery: "key=" + placeholder + "&limit=10"}, Header: http.Header{}}
		}, func(r *http.Request) bool {
			return strings.Contains(r.URL.Path, string(value)) && strings.Contains(r.URL.RawQuery, url.QueryEscape(string(value)))
		}},
		{"header", svc("header"), func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/v1/things"}, Header: http.Header{
				"X-Token": {"t=" + placeholder}, "Accept": {"application/json"}, "User-Agent": {"bench/1"},
			}}
		}, func(r *http.Request) bool { return r.Header.Get("X-Token") == "t="+string(value) }},
		{"body-json-1KiB", svc("body"), func() *http.Request {
			return &http.Request{Method: "POST", URL: &url.URL{Path: "/v1/things"}, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(jsonBody)), ContentLength: int64(len(jsonBody))}
		}, func(r *http.Request) bool {
			b, _ := io.ReadAll(r.Body)
			return bytes.Contains(b, []byte(`"tok/with+chars 0123456789abcdef"`))
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := c.req()
			if err := applySubstitutions(r, c.s, lookup); err != nil || !c.want(r) {
				b.Fatalf("applySubstitutions: %v; request %+v", err, r.URL)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := applySubstitutions(c.req(), c.s, lookup); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatchPath measures the path normalisation the proxy matches on.
func BenchmarkMatchPath(b *testing.B) {
	for _, p := range []string{"/v1/charges", "/api/v1/../admin/./users/", "/a/b/c/d/e/f/g/h/i/j"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = matchPath(p)
			}
		})
	}
}
