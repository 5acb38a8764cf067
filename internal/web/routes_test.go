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

// Every registration is recorded, whichever way it is made, so that no
// page can be served by the handler and missed by the control plane.
func TestEveryRegistrationIsRecorded(t *testing.T) {
	m := &routeMux{ServeMux: http.NewServeMux()}
	m.HandleFunc("GET /a", func(http.ResponseWriter, *http.Request) {})
	m.Handle("POST /b/{x}", http.NotFoundHandler())
	m.Handle("/c", http.NotFoundHandler())
	want := []Route{{"GET", "/a"}, {"POST", "/b/{x}"}, {"", "/c"}}
	if len(m.routes) != len(want) {
		t.Fatalf("recorded %v, want %v", m.routes, want)
	}
	for i := range want {
		if m.routes[i] != want[i] {
			t.Errorf("route %d = %v, want %v", i, m.routes[i], want[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a pattern without a leading / was accepted")
		}
	}()
	m.Handle("GET example.com/x", http.NotFoundHandler())
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
