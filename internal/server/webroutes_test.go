package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/server"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
	"github.com/agent-vault/agent-vault/internal/web"
)

// instantiate fills a route pattern's wildcards with sample segments.
func instantiate(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		switch {
		case s == "{$}":
			segs[i] = ""
		case strings.HasSuffix(s, "...}"):
			segs[i] = "a/b"
		case strings.HasPrefix(s, "{"):
			segs[i] = "x1"
		}
	}
	return strings.Join(segs, "/")
}

// servedByPages reports whether a response is a page the browser handler
// chose to serve (not its "no page here" answer, nor the API's).
func servedByPages(t *testing.T, res *http.Response) bool {
	t.Helper()
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res.Header.Get("Content-Security-Policy") != "" && !strings.Contains(string(body), "There is no page here")
}

// The web pages are listed once, where they are registered: every route
// of that list is reached through the control plane with its method, and
// every path the pages serve is routed to them (nothing served is missing
// from the list, so no page falls to the API's 1 MiB body limit or its
// JSON 404).
func TestWebRoutesAreServedThroughTheControlPlane(t *testing.T) {
	db := sqltest.Open(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: fastPW, BaseURL: "http://vault.test", Logger: log, Version: "test"})
	if err := b.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	pages := web.New(web.Options{Broker: b, BaseURL: "http://vault.test", Logger: log})
	ts := httptest.NewServer(server.New(server.Options{Broker: b, Logger: log, Web: pages}))
	t.Cleanup(func() { ts.Close(); _ = db.Close() })
	pagesOnly := httptest.NewServer(pages)
	t.Cleanup(pagesOnly.Close)
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(base, method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	routes := pages.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes listed", len(routes))
	}
	for _, r := range routes {
		path := instantiate(r.Pattern)
		if !servedByPages(t, do(ts.URL, r.Method, path)) {
			t.Errorf("%s %s (route %s) is not served through the control plane", r.Method, path, r.Pattern)
		}
	}
	// Paths a browser may ask for: each one the pages serve must reach
	// them through the control plane too; the API's own paths must not.
	probes := []string{"/", "/login", "/logout", "/proposals", "/proposals/7", "/approve/7", "/vaults", "/vaults/prod",
		"/vaults/prod/settings", "/vaults/prod/members", "/vaults/prod/credentials", "/vaults/prod/credentials/K/reveal",
		"/vaults/prod/services/new", "/vaults/prod/services/yaml", "/vaults/prod/services/s/edit", "/vaults/prod/catalog",
		"/vaults/prod/agents", "/vaults/prod/agents/add", "/vaults/prod/agents/a/rotate", "/vaults/prod/sessions",
		"/vaults/prod/sessions/1/revoke", "/vaults/prod/logs", "/invite/tok", "/setup", "/register", "/forgot", "/reset",
		"/account", "/instance", "/vaults/prod/unknown", "/nothing", "/v1/status", "/healthz"}
	for _, p := range probes {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			direct := servedByPages(t, do(pagesOnly.URL, m, p))
			via := servedByPages(t, do(ts.URL, m, p))
			if direct && !via {
				t.Errorf("%s %s: the pages serve it, but the control plane does not route it to them", m, p)
			}
			if !direct && via {
				t.Errorf("%s %s: routed to the pages, which have no such page", m, p)
			}
		}
	}
}

// A browser that opens an address no route serves (a mistyped page)
// gets the pages' HTML "no page here" with their headers; an API client,
// and any /v1/ path, still gets the JSON 404.
func TestUnknownAddressInABrowserGetsAPage(t *testing.T) {
	db := sqltest.Open(t)
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := broker.New(broker.Options{Store: db, Keyring: kr, PasswordParams: fastPW, BaseURL: "http://vault.test", Logger: log, Version: "test"})
	if err := b.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Options{Broker: b, Logger: log, Web: web.New(web.Options{Broker: b, BaseURL: "http://vault.test", Logger: log})}))
	t.Cleanup(func() { ts.Close(); _ = db.Close() })
	const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, c := range []struct {
		method, path, accept string
		html                 bool
	}{
		{http.MethodGet, "/vaults/default/nothing-here", browserAccept, true},
		{http.MethodGet, "/nothing-here", browserAccept, true},
		{http.MethodHead, "/nothing-here", browserAccept, true},
		{http.MethodGet, "/nothing-here", "", false},
		{http.MethodGet, "/nothing-here", "application/json", false},
		{http.MethodGet, "/v1/nothing-here", browserAccept, false},
		{http.MethodPost, "/nothing-here", browserAccept, false},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		gotHTML := strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") && res.Header.Get("Content-Security-Policy") != ""
		if res.StatusCode != http.StatusNotFound || gotHTML != c.html {
			t.Errorf("%s %s (Accept %q): %d %s, want 404 with HTML=%v", c.method, c.path, c.accept, res.StatusCode, res.Header.Get("Content-Type"), c.html)
		}
		if c.html && c.method == http.MethodGet && !strings.Contains(string(body), "There is no page here") {
			t.Errorf("%s: the page does not say there is no page here", c.path)
		}
	}
}
