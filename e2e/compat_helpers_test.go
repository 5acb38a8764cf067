package e2e

// Helpers of the compatibility suite (compat_*_test.go): requests and
// answers in the shapes the public Agent Vault CLI and TypeScript SDK
// send and parse, written from the public protocol's documentation (see
// docs/compatibility.md), against the real binary.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
)

// compatOwner starts a server (with the broker proxy on a free port when
// withProxy) and registers its owner the way scripts written for the
// public CLI do: `auth register --email … --password-stdin`. The owner's
// CLI shares the server's data dir, as on a machine where both use the
// default one: the one-time setup code the first account needs is read
// from there, so the command needs nothing more.
func compatOwner(t *testing.T, withProxy bool, env ...string) (*server, *cliUser, int) {
	t.Helper()
	o := serverOpts{dataDir: filepath.Join(t.TempDir(), "server"), env: env}
	proxyPort := 0
	if withProxy {
		proxyPort = freePort(t)
		o.args = []string{"--mitm-port", strconv.Itoa(proxyPort)}
	}
	s := startServer(t, o)
	owner := &cliUser{t: t, name: "owner", addr: s.url, dir: o.dataDir}
	out := owner.ok("owner-pass-123\n", "auth", "register", "--email", "owner@example.com", "--password-stdin")
	mustContain(t, "register --password-stdin", out, "(owner)")
	return s, owner, proxyPort
}

// jsonObject decodes a JSON object answer, failing on anything else.
func jsonObject(t testing.TB, what string, r apiResp, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %s, want HTTP %d", what, r, status)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s: not a JSON object (%v): %s", what, err, r)
	}
	return m
}

// wantKinds checks that obj has each field with the JSON kind a client
// parses it as: "string", "number", "bool", "array", "object".
func wantKinds(t testing.TB, what string, obj map[string]any, kinds map[string]string) {
	t.Helper()
	for field, kind := range kinds {
		v, ok := obj[field]
		if !ok {
			t.Errorf("%s: no field %q in %v", what, field, obj)
			continue
		}
		got := "null"
		switch v.(type) {
		case string:
			got = "string"
		case float64:
			got = "number"
		case bool:
			got = "bool"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		}
		if got != kind {
			t.Errorf("%s: field %q is %s (%v), want %s", what, field, got, v, kind)
		}
	}
}

// withHeader sends one JSON request with an extra header (the SDK's
// X-Vault).
func withHeader(t testing.TB, method, url, tok, key, value string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set(key, value)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResp{status: resp.StatusCode, header: resp.Header, body: b}
}
