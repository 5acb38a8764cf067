package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/proxy"
)

// rowSink is a Recorder that keeps every row.
type rowSink struct {
	mu   sync.Mutex
	rows []model.RequestLog
}

func (s *rowSink) Record(r model.RequestLog) {
	s.mu.Lock()
	s.rows = append(s.rows, r)
	s.mu.Unlock()
}

func (s *rowSink) all() []model.RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rows)
}

// waitRows waits until n rows were recorded (a row is recorded once its
// response stream has ended, which can be just after the client read it).
func (s *rowSink) waitRows(t *testing.T, n int) []model.RequestLog {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows := s.all()
		if len(rows) >= n {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows recorded, want %d: %+v", len(rows), n, rows)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newRecEnv is newEnv (harness_test.go) with rec as the proxy's Recorder.
func newRecEnv(t *testing.T, allowPrivate bool, rec proxy.Recorder) *env {
	return newEnvWith(t, allowPrivate, nil, rec)
}

// vaultID is the default vault's id, as the proxy sees it.
func (e *env) vaultID(tok string) string {
	e.t.Helper()
	g, err := e.b.ProxyAuthorize(context.Background(), tok, "default")
	if err != nil {
		e.t.Fatal(err)
	}
	return g.VaultID
}

const (
	recAPIKey     = "sk_rec_APIKEY_5f2a9c31"
	recAccount    = "acct_rec_SECRET_77e1"
	recQuerySec   = "SECRETQUERY"
	recBodySecret = "BODY_rec_SECRET_1b0d"
)

// doReq sends one request and returns the status and body length.
func doReq(t *testing.T, c *http.Client, method, url, body string) (int, int) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b := read(t, resp)
	return resp.StatusCode, len(b)
}

func TestRequestLogRowPerRequest(t *testing.T) {
	sink := &rowSink{}
	e := newRecEnv(t, true, sink)
	e.setup(map[string]string{"API_KEY": recAPIKey, "ACCOUNT_ID": recAccount},
		apitype.Service{Name: "api", Host: "api.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"},
			Substitutions: []apitype.Substitution{{Key: "ACCOUNT_ID", Placeholder: "__ACCOUNT__", In: []string{"path", "query", "body"}}}},
		apitype.Service{Name: "plain", Host: e.plainUp, Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}, AllowPlaintext: true},
		apitype.Service{Name: "off", Host: "off.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}},
	)
	if _, err := e.b.PatchService(context.Background(), e.owner, "default", "off", apitype.ServicePatch{Enabled: new(bool)}); err != nil {
		t.Fatal(err)
	}
	tok := e.agent("bot", "proxy")
	vid := e.vaultID(tok)
	h1, h2 := e.client(tok, "default", false), e.client(tok, "default", true)

	type want struct {
		ingress, method, host string
		port                  int
		path, service         string
		keys                  []string
		status                int
		reqBytes              int64 // -1: any number above 0
		respBytes             int64 // -1: any number above 0
		errCode               string
	}
	n := 0
	check := func(name string, w want) {
		t.Helper()
		n++
		rows := sink.waitRows(t, n)
		if len(rows) != n {
			t.Fatalf("%s: %d rows after %d requests: %+v", name, len(rows), n, rows)
		}
		r := rows[n-1]
		if r.VaultID != vid || r.ActorKind != model.ActorAgent || r.ActorName != "agent:bot" {
			t.Errorf("%s: vault %q actor %s %q, want %q agent agent:bot", name, r.VaultID, r.ActorKind, r.ActorName, vid)
		}
		if r.Ingress != w.ingress || r.Method != w.method || r.Host != w.host || r.Port != w.port || r.Path != w.path {
			t.Errorf("%s: %s %s %s:%d %q, want %s %s %s:%d %q", name, r.Ingress, r.Method, r.Host, r.Port, r.Path, w.ingress, w.method, w.host, w.port, w.path)
		}
		if r.Service != w.service || !slices.Equal(r.CredentialKeys, w.keys) {
			t.Errorf("%s: service %q keys %v, want %q %v", name, r.Service, r.CredentialKeys, w.service, w.keys)
		}
		if r.Status != w.status || r.ErrorCode != w.errCode {
			t.Errorf("%s: status %d error %q, want %d %q", name, r.Status, r.ErrorCode, w.status, w.errCode)
		}
		for _, b := range []struct {
			what      string
			got, want int64
		}{{"request", r.RequestBytes, w.reqBytes}, {"response", r.ResponseBytes, w.respBytes}} {
			if (b.want < 0 && b.got <= 0) || (b.want >= 0 && b.got != b.want) {
				t.Errorf("%s: %s bytes %d, want %d (-1: more than 0)", name, b.what, b.got, b.want)
			}
		}
		if r.Duration <= 0 || r.At.IsZero() || r.At.Location() != time.UTC {
			t.Errorf("%s: duration %v at %v", name, r.Duration, r.At)
		}
	}
	keys := []string{"ACCOUNT_ID", "API_KEY"}
	up, plain := strconv.Itoa(e.upPort), strconv.Itoa(e.plainPort)

	// Intercepted (CONNECT), HTTP/1.1, with query values and a path
	// placeholder: the path is logged as the agent sent it, without the query.
	st, size := doReq(t, h1, "GET", "https://"+e.upstream+"/accounts/__ACCOUNT__/items?api_key="+recQuerySec+"&acct=__ACCOUNT__", "")
	if got := e.seen.last(); st != 200 || got.Header.Get("Authorization") != "Bearer "+recAPIKey || !strings.Contains(got.URL.Path, recAccount) {
		t.Fatalf("GET %d: upstream saw %q %q: the request was not injected", st, got.Header.Get("Authorization"), got.URL.Path)
	}
	check("connect GET", want{"connect", "GET", "api.test", e.upPort, "/accounts/__ACCOUNT__/items", "api", keys, 200, 0, int64(size), ""})

	// Intercepted, HTTP/2, a body with a placeholder: the bytes the agent sent.
	body := `{"account":"__ACCOUNT__","note":"` + recBodySecret + `"}`
	st, size = doReq(t, h2, "POST", "https://"+e.upstream+"/v1/items?token="+recQuerySec, body)
	if st != 200 || !strings.Contains(string(e.seen.last().URL.Path), "/v1/items") {
		t.Fatalf("POST: %d", st)
	}
	check("connect POST h2", want{"connect", "POST", "api.test", e.upPort, "/v1/items", "api", keys, 200, int64(len(body)), int64(size), ""})

	// Absolute-form plaintext to a service with an explicit port.
	st, size = doReq(t, h1, "PUT", "http://"+e.plainUp+"/plain/path?q="+recQuerySec, "0123456789")
	if st != 200 {
		t.Fatalf("PUT: %d", st)
	}
	check("absolute PUT", want{"absolute", "PUT", "plain.test", e.plainPort, "/plain/path", "plain", []string{"API_KEY"}, 200, 10, int64(size), ""})

	// Absolute-form to a host no service matches (passthrough vault).
	st, size = doReq(t, h1, "GET", "http://other.test:"+plain+"/x?k="+recQuerySec, "")
	if st != 200 {
		t.Fatalf("passthrough: %d", st)
	}
	check("absolute passthrough", want{"absolute", "GET", "other.test", e.plainPort, "/x", "", nil, 200, 0, int64(size), ""})

	// A disabled service: the broker answers, and the row has its code.
	st, size = doReq(t, h1, "GET", "https://off.test:"+up+"/thing?k="+recQuerySec, "")
	if st != http.StatusForbidden {
		t.Fatalf("disabled service: %d", st)
	}
	check("service_disabled", want{"connect", "GET", "off.test", e.upPort, "/thing", "", nil, 403, 0, int64(size), "service_disabled"})

	// A blind tunnel (no service could match tunnel.test): the client
	// refuses the upstream's own certificate, but bytes went both ways.
	if _, err := h1.Get("https://tunnel.test:" + up + "/?secret=" + recQuerySec); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("blind tunnel: %v, want the upstream's untrusted certificate", err)
	}
	check("blind tunnel", want{"tunnel", "CONNECT", "tunnel.test", e.upPort, "", "", nil, 200, -1, -1, ""})

	// A blind tunnel to a closed port: refused before the 200.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := dead.Addr().(*net.TCPAddr).Port
	dead.Close()
	if code := rawConnect(t, e, tok, "tunnel.test:"+strconv.Itoa(deadPort)); code != http.StatusBadGateway {
		t.Fatalf("CONNECT to a closed port: %d", code)
	}
	check("unreachable tunnel", want{"tunnel", "CONNECT", "tunnel.test", deadPort, "", "", nil, 502, 0, 0, "upstream_unreachable"})

	// Nothing secret in any field of any row.
	assertRowsClean(t, sink.all(), recAPIKey, recAccount, recQuerySec, recBodySecret, tok)
}

// rawConnect sends one CONNECT and returns the proxy's status.
func rawConnect(t *testing.T, e *env, token, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auth := base64.StdEncoding.EncodeToString([]byte(token + ":default"))
	_, _ = fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", target, target, auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// assertRowsClean searches every field of every row for each secret.
func assertRowsClean(t *testing.T, rows []model.RequestLog, secrets ...string) {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no rows to search")
	}
	for i, r := range rows {
		fields := []string{r.VaultID, r.At.String(), string(r.ActorKind), r.ActorName, r.Ingress, r.Method, r.Host, strconv.Itoa(r.Port),
			r.Path, r.Service, strings.Join(r.CredentialKeys, ","), strconv.Itoa(r.Status), r.ErrorCode, fmt.Sprintf("%+v", r)}
		for _, f := range fields {
			for _, s := range secrets {
				if strings.Contains(f, s) {
					t.Errorf("row %d holds the secret %q: %+v", i, s, r)
				}
			}
		}
		if strings.ContainsAny(r.Path, "?#") {
			t.Errorf("row %d keeps a query or fragment in its path %q", i, r.Path)
		}
	}
}

func TestRequestLogErrorRows(t *testing.T) {
	sink := &rowSink{}
	e := newRecEnv(t, false, sink) // private ranges blocked
	e.setup(map[string]string{"API_KEY": recAPIKey},
		bearer("api", "api.test", "API_KEY"),
		apitype.Service{Name: "plain", Host: "plain.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}})
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	up := strconv.Itoa(e.upPort)

	// Absolute-form without proxy credentials: no grant, so no row (the
	// first row below must be the next request's).
	if st, _ := doReq(t, e.client("", "", false), "GET", "http://"+e.plainUp+"/", ""); st != http.StatusProxyAuthRequired {
		t.Fatalf("no credentials: %d", st)
	}
	// Each request waits for its row before the next: an intercepted
	// request's row is queued just after its answer, so rows of requests
	// sent back to back may arrive in either order.
	// Intercepted and matched, then blocked at the dial.
	if st, _ := doReq(t, c, "GET", "https://"+e.upstream+"/v1/x?api_key="+recQuerySec, ""); st != http.StatusForbidden {
		t.Fatalf("blocked: %d", st)
	}
	sink.waitRows(t, 1)
	// A host no service matches, blocked at the dial (absolute-form).
	if st, _ := doReq(t, c, "GET", "http://other.test:"+up+"/y?q="+recQuerySec, ""); st != http.StatusForbidden {
		t.Fatalf("unmatched and blocked: %d", st)
	}
	sink.waitRows(t, 2)
	// A credential over plain http:// without an explicit port.
	if st, _ := doReq(t, c, "GET", "http://"+e.plainUp+"/z?q="+recQuerySec, ""); st != http.StatusForbidden {
		t.Fatalf("insecure transport: %d", st)
	}
	sink.waitRows(t, 3)
	// A would-be blind tunnel to a blocked HTTPS address: the tunnel opens
	// and its request gets the 403, without any dial (refusal.go).
	if st, _ := doReq(t, c, "GET", "https://metadata.test/latest?q="+recQuerySec, ""); st != http.StatusForbidden {
		t.Fatalf("CONNECT to the metadata address: %d", st)
	}
	rows := sink.waitRows(t, 4)
	wantRows := []struct {
		ingress, host string
		port          int
		path, service string
		keys          []string
		status        int
		code          string
	}{
		{"connect", "api.test", e.upPort, "/v1/x", "api", []string{"API_KEY"}, 403, "destination_blocked"},
		{"absolute", "other.test", e.upPort, "/y", "", nil, 403, "destination_blocked"},
		{"absolute", "plain.test", e.plainPort, "/z", "plain", []string{"API_KEY"}, 403, "insecure_transport"},
		{"tunnel", "metadata.test", 443, "", "", nil, 403, "destination_blocked"},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(wantRows), rows)
	}
	for i, w := range wantRows {
		r := rows[i]
		if r.Ingress != w.ingress || r.Host != w.host || r.Port != w.port || r.Path != w.path || r.Service != w.service ||
			!slices.Equal(r.CredentialKeys, w.keys) || r.Status != w.status || r.ErrorCode != w.code || r.ActorName != "agent:bot" {
			t.Errorf("row %d: %+v\nwant %+v", i, r, w)
		}
	}
	assertRowsClean(t, rows, recAPIKey, recQuerySec, tok)
	if strings.Contains(e.logText(), recQuerySec) {
		t.Error("a query value reached the server log")
	}
}
