package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A method a page does not take is a 405 whose Allow header lists the
// methods registered for that path, and nothing else; a path no page has
// is a 404.
func TestMethodNotAllowedListsTheRegisteredMethods(t *testing.T) {
	h := New(Options{})
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodDelete, "/login", 405, "GET, HEAD, POST"},
		{http.MethodPost, "/proposals", 405, "GET, HEAD"},
		{http.MethodPut, "/vaults/prod/logs", 405, "GET, HEAD"},
		{http.MethodPatch, "/vaults/prod/agents/a/rotate", 405, "GET, HEAD, POST"},
		{http.MethodGet, "/vaults/prod/nothing", 404, ""},
		{http.MethodGet, "/vaults/prod/credentials/K/reveal/more", 404, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", c.method, c.path, rec.Code, rec.Header().Get("Allow"), c.status, c.allow)
		}
	}
}

// Registering a route without a method is a programming error caught at
// start, not a page that takes every method.
func TestRouteWithoutMethodPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a route without a method was accepted")
		}
	}()
	m := &routeMux{ServeMux: http.NewServeMux()}
	m.HandleFunc("/anything", func(http.ResponseWriter, *http.Request) {})
}

// Paths lists each shape once, with wildcards renamed, so that the
// control plane can register them without a conflict.
func TestPathsAreCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/vaults/{name}/agents/{agent}/{action}", "/vaults/{w1}/agents/{w2}/{w3}"},
		{"/{$}", "/{$}"},
		{"/files/{rest...}", "/files/{w1...}"},
		{"/login", "/login"},
	} {
		if got := canonicalPattern(c.in); got != c.want {
			t.Errorf("canonicalPattern(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	seen := map[string]bool{}
	for _, p := range New(Options{}).Paths() {
		if seen[p] {
			t.Errorf("%s listed twice", p)
		}
		seen[p] = true
	}
	mux := http.NewServeMux() // panics on two patterns of one shape
	for p := range seen {
		mux.Handle(p, http.NotFoundHandler())
	}
}
