package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/server"
)

// TestProbes: /healthz answers while the server serves; /readyz answers
// 200 when every check holds and 503 naming the failing check, without
// the check's error text (which may name database hosts or worse); both
// need no token and pass a full in-flight ceiling.
func TestProbes(t *testing.T) {
	e := newEnv(t)
	const leak = "postgres://user:hunter2@db.internal"
	var storeErr error
	checks := []server.ReadyCheck{
		{Name: "store", Check: func(context.Context) error { return storeErr }},
		{Name: "keyring", Check: func(context.Context) error { return nil }},
	}
	// A limiter whose in-flight ceiling is already full.
	lim, err := ratelimit.New(ratelimit.Options{Global: 1})
	if err != nil {
		t.Fatal(err)
	}
	release, ok, _ := lim.AcquireGlobal()
	if !ok {
		t.Fatal("could not take the only in-flight slot")
	}
	defer release()
	ts := httptest.NewServer(server.New(server.Options{Broker: e.b, Limiter: lim, Ready: checks}))
	defer ts.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	code, body := get("/readyz")
	var rd apitype.Readiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil || code != 200 || rd.Status != "ok" || rd.Checks["store"] != "ok" || rd.Checks["keyring"] != "ok" {
		t.Errorf("/readyz with every check holding = %d %s", code, body)
	}
	storeErr = errors.New("dial " + leak + ": connection refused")
	code, body = get("/readyz")
	rd = apitype.Readiness{}
	if err := json.Unmarshal([]byte(body), &rd); err != nil || code != 503 || rd.Status != "unavailable" || rd.Checks["store"] != "failing" || rd.Checks["keyring"] != "ok" {
		t.Errorf("/readyz with the store down = %d %s, want 503 naming store", code, body)
	}
	if strings.Contains(body, "hunter2") || strings.Contains(body, "db.internal") {
		t.Errorf("/readyz leaks the check's error: %s", body)
	}
	// Other routes are refused by the full ceiling: the probes passed it.
	if code, _ := get("/v1/status"); code != http.StatusTooManyRequests {
		t.Errorf("/v1/status under a full ceiling = %d, want 429 (the test's premise)", code)
	}
}
