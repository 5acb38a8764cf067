package server_test

// GET /v1/vaults/{name}/logs and /discovered-hosts over HTTP, on rows
// inserted straight into the store (the proxy's side is tested in
// internal/proxy and e2e).

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// lgT0 is the time of the first inserted row.
var lgT0 = time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)

// lgRows are vault logs-a's rows, in insertion (id) order; row i is at
// lgT0 + i minutes.
var lgRows = []struct {
	service, actor string
	kind           model.ActorKind
	host           string
	port, status   int
	code           string
}{
	{"api", "agent:bot", model.ActorAgent, "api.example.com", 443, 200, ""},
	{"api", "agent:bot", model.ActorAgent, "api.example.com", 443, 201, ""},
	{"", "agent:bot", model.ActorAgent, "unknown.example.org", 443, 200, ""},
	{"api", "agent:other", model.ActorAgent, "api.example.com", 443, 403, "forbidden"},
	{"", "agent:other", model.ActorAgent, "unknown.example.org", 8443, 502, "upstream_unreachable"},
	{"", "owner@example.com", model.ActorUser, "other.example.net", 443, 200, ""},
	{"gh", "agent:bot", model.ActorAgent, "api.github.com", 443, 404, ""},
	{"gh", "agent:bot", model.ActorAgent, "api.github.com", 443, 500, ""},
	{"", "agent:bot", model.ActorAgent, "unknown.example.org", 443, 200, ""},
}

// lgFixture is a server with logs-a (the rows above), logs-b (one row)
// and logs-bulk (250 rows).
type lgFixture struct {
	*cfx
	ids map[string][]int64 // vault → row ids in insertion order
}

func newLgFixture(t *testing.T) *lgFixture {
	t.Helper()
	f := &lgFixture{cfx: newCfx(t), ids: map[string][]int64{}}
	insert := func(vault string, rows []model.RequestLog) {
		t.Helper()
		v, err := f.e.db.Vaults().ByName(cbg, vault)
		mustOK(t, "vault "+vault, err)
		for i := range rows {
			rows[i].VaultID = v.ID
		}
		mustOK(t, "insert", f.e.db.RequestLogs().Insert(cbg, rows))
		got, err := f.e.db.RequestLogs().List(cbg, store.RequestLogFilter{VaultID: v.ID, Limit: 1000})
		mustOK(t, "list", err)
		for i := len(got) - 1; i >= 0; i-- {
			f.ids[vault] = append(f.ids[vault], got[i].ID)
		}
	}
	for _, v := range []string{"logs-a", "logs-b", "logs-bulk"} {
		mkVault(t, f.own, v)
	}
	var a []model.RequestLog
	for i, r := range lgRows {
		a = append(a, model.RequestLog{At: lgT0.Add(time.Duration(i) * time.Minute), ActorKind: r.kind, ActorName: r.actor,
			Ingress: "connect", Method: "GET", Host: r.host, Port: r.port, Path: "/p/" + strconv.Itoa(i), Service: r.service,
			CredentialKeys: credKeysFor(r.service), Status: r.status, RequestBytes: int64(i), ResponseBytes: int64(100 + i),
			Duration: time.Duration(i) * time.Millisecond, ErrorCode: r.code})
	}
	insert("logs-a", a)
	insert("logs-b", []model.RequestLog{{At: lgT0, ActorKind: model.ActorAgent, ActorName: "agent:bot", Ingress: "absolute", Method: "GET",
		Host: "api.example.com", Port: 443, Path: "/b", Service: "api", Status: 200}})
	var bulk []model.RequestLog
	for i := 0; i < 250; i++ {
		bulk = append(bulk, model.RequestLog{At: lgT0.Add(time.Duration(i) * time.Second), ActorKind: model.ActorAgent, ActorName: "agent:bulk",
			Ingress: "tunnel", Method: "CONNECT", Host: "bulk.example.com", Port: 443, Status: 200})
	}
	insert("logs-bulk", bulk)
	return f
}

func credKeysFor(service string) []string {
	if service == "" {
		return nil
	}
	return []string{"KEY_A", "KEY_B"}
}

// logs GETs the log of vault with query q as tok, requiring status want.
func (f *lgFixture) logs(t *testing.T, tok, vault, q string, want int) apitype.RequestLogList {
	t.Helper()
	r := f.raw(t, http.MethodGet, "/v1/vaults/"+vault+"/logs?"+q, tok, nil)
	if r.code != want {
		t.Fatalf("GET logs?%s: status %d (%s), want %d", q, r.code, r.body, want)
	}
	var out apitype.RequestLogList
	if want == http.StatusOK {
		r.into(t, &out)
	}
	return out
}

// lgIDs are the ids of a listing, in its order.
func lgIDs(l apitype.RequestLogList) []int64 {
	out := []int64{}
	for _, r := range l.Logs {
		out = append(out, r.ID)
	}
	return out
}

// lgWant is the ids of logs-a's rows that pass keep, newest first.
func (f *lgFixture) lgWant(keep func(i int) bool) []int64 {
	out := []int64{}
	for i := len(lgRows) - 1; i >= 0; i-- {
		if keep(i) {
			out = append(out, f.ids["logs-a"][i])
		}
	}
	return out
}

func TestLogsFilters(t *testing.T) {
	f := newLgFixture(t)
	at := func(i int) string {
		return url.QueryEscape(lgT0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339))
	}
	cases := []struct {
		q    string
		keep func(i int) bool
	}{
		{"", func(int) bool { return true }},
		{"service=api", func(i int) bool { return lgRows[i].service == "api" }},
		{"service=gh", func(i int) bool { return lgRows[i].service == "gh" }},
		{"service=nope", func(int) bool { return false }},
		{"status=2xx", func(i int) bool { return lgRows[i].status/100 == 2 }},
		{"status=4XX", func(i int) bool { return lgRows[i].status/100 == 4 }},
		{"status=5xx", func(i int) bool { return lgRows[i].status/100 == 5 }},
		{"status=404", func(i int) bool { return lgRows[i].status == 404 }},
		{"status=201", func(i int) bool { return lgRows[i].status == 201 }},
		{"actor=agent:other", func(i int) bool { return lgRows[i].actor == "agent:other" }},
		{"actor=" + url.QueryEscape("owner@example.com"), func(i int) bool { return lgRows[i].kind == model.ActorUser }},
		{"host=API.GITHUB.COM", func(i int) bool { return lgRows[i].host == "api.github.com" }},
		{"host=unknown.example.org", func(i int) bool { return lgRows[i].host == "unknown.example.org" }},
		{"since=" + at(3), func(i int) bool { return i >= 3 }},
		{"until=" + at(3), func(i int) bool { return i < 3 }},
		{"since=" + at(3) + "&until=" + at(6), func(i int) bool { return i >= 3 && i < 6 }},
		// An age counts back from the server's clock, which stands a month
		// before the rows (they are newer than any age).
		{"since=1h", func(int) bool { return true }},
		{"until=1h", func(int) bool { return false }},
		{"since=100000h", func(int) bool { return true }},
		{"since=36500d&until=30m", func(int) bool { return false }},
		{"service=gh&status=5xx", func(i int) bool { return lgRows[i].service == "gh" && lgRows[i].status >= 500 }},
		{"actor=agent:bot&host=unknown.example.org&status=2xx", func(i int) bool {
			return lgRows[i].actor == "agent:bot" && lgRows[i].host == "unknown.example.org"
		}},
	}
	for _, c := range cases {
		got := f.logs(t, f.ownTok, "logs-a", c.q, http.StatusOK)
		if want := f.lgWant(c.keep); !slices.Equal(lgIDs(got), want) {
			t.Errorf("logs?%s = ids %v, want %v", c.q, lgIDs(got), want)
		}
		if got.Vault != "logs-a" || got.NextCursor != 0 {
			t.Errorf("logs?%s: vault %q next_cursor %d", c.q, got.Vault, got.NextCursor)
		}
	}

	// One row in full.
	all := f.logs(t, f.ownTok, "logs-a", "status=403", http.StatusOK)
	want := apitype.RequestLog{ID: f.ids["logs-a"][3], Time: lgT0.Add(3 * time.Minute), ActorType: "agent", Actor: "agent:other", Ingress: "connect",
		Method: "GET", Host: "api.example.com", Port: 443, Path: "/p/3", Service: "api", CredentialKeys: []string{"KEY_A", "KEY_B"}, Status: 403,
		RequestBytes: 3, ResponseBytes: 103, DurationMS: 3, ErrorCode: "forbidden"}
	if len(all.Logs) != 1 || fmt.Sprintf("%+v", all.Logs[0]) != fmt.Sprintf("%+v", want) {
		t.Errorf("row = %+v\nwant  %+v", all.Logs, want)
	}

	// Another vault's rows never show; an empty vault lists [].
	if got := f.logs(t, f.ownTok, "logs-b", "", http.StatusOK); len(got.Logs) != 1 || got.Logs[0].Path != "/b" {
		t.Errorf("logs-b = %+v", got.Logs)
	}
	mkVault(t, f.own, "logs-empty")
	if r := f.raw(t, http.MethodGet, "/v1/vaults/logs-empty/logs", f.ownTok, nil); r.code != 200 || string(trimNL(r.body)) != `{"vault":"logs-empty","logs":[]}` {
		t.Errorf("empty vault: %d %s", r.code, r.body)
	}

	// Invalid filters name the parameter.
	for q, field := range map[string]string{
		"status=6xx": "status", "status=abc": "status", "status=99": "status", "status=600": "status",
		"since=yesterday": "since", "until=2026-01-01": "until", "since=-1h": "since", "since=0d": "since", "until=1y": "until", "before=x": "before", "before=-1": "before", "after=1.5": "after",
		"limit=0": "limit", "limit=1001": "limit", "limit=-5": "limit", "limit=ten": "limit",
	} {
		r := f.raw(t, http.MethodGet, "/v1/vaults/logs-a/logs?"+q, f.ownTok, nil)
		if r.code != http.StatusBadRequest {
			t.Errorf("logs?%s: status %d (%s), want 400", q, r.code, r.body)
			continue
		}
		if eb := r.errBody(t); eb.Field != field {
			t.Errorf("logs?%s: field %q, want %q", q, eb.Field, field)
		}
	}
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func TestLogsCursorPaging(t *testing.T) {
	f := newLgFixture(t)
	ids := f.ids["logs-bulk"] // oldest first
	newest := slices.Clone(ids)
	slices.Reverse(newest)

	// Default page: 100 newest, with a cursor; before= walks older.
	var seen []int64
	q := ""
	for page := 0; ; page++ {
		got := f.logs(t, f.ownTok, "logs-bulk", q, http.StatusOK)
		seen = append(seen, lgIDs(got)...)
		if page < 2 {
			if len(got.Logs) != 100 || got.NextCursor != got.Logs[99].ID {
				t.Fatalf("page %d: %d rows, next_cursor %d", page, len(got.Logs), got.NextCursor)
			}
		} else {
			if len(got.Logs) != 50 || got.NextCursor != 0 {
				t.Fatalf("last page: %d rows, next_cursor %d", len(got.Logs), got.NextCursor)
			}
			break
		}
		q = "before=" + strconv.FormatInt(got.NextCursor, 10)
	}
	if !slices.Equal(seen, newest) {
		t.Errorf("paging with before= did not list every row once, newest first")
	}
	// A page exactly as long as the rest still offers a cursor, whose page is empty.
	got := f.logs(t, f.ownTok, "logs-bulk", "limit=50&before="+strconv.FormatInt(ids[50], 10), http.StatusOK)
	if !slices.Equal(lgIDs(got), newest[200:]) || got.NextCursor != ids[0] {
		t.Errorf("last full page: %v next %d", lgIDs(got), got.NextCursor)
	}
	if got := f.logs(t, f.ownTok, "logs-bulk", "before="+strconv.FormatInt(got.NextCursor, 10), http.StatusOK); len(got.Logs) != 0 || got.NextCursor != 0 {
		t.Errorf("past the end: %v next %d", lgIDs(got), got.NextCursor)
	}

	// after= lists oldest first above the cursor (following), with no cursor.
	got = f.logs(t, f.ownTok, "logs-bulk", "after="+strconv.FormatInt(ids[10], 10)+"&limit=5", http.StatusOK)
	if !slices.Equal(lgIDs(got), ids[11:16]) || got.NextCursor != 0 {
		t.Errorf("after= = %v next %d, want %v", lgIDs(got), got.NextCursor, ids[11:16])
	}
	if got := f.logs(t, f.ownTok, "logs-bulk", "after="+strconv.FormatInt(ids[249], 10), http.StatusOK); len(got.Logs) != 0 {
		t.Errorf("after the newest: %v", lgIDs(got))
	}

	// Limits: 1 and 1000 are the bounds.
	if got := f.logs(t, f.ownTok, "logs-bulk", "limit=1", http.StatusOK); !slices.Equal(lgIDs(got), newest[:1]) || got.NextCursor != newest[0] {
		t.Errorf("limit=1: %v next %d", lgIDs(got), got.NextCursor)
	}
	if got := f.logs(t, f.ownTok, "logs-bulk", "limit=1000", http.StatusOK); !slices.Equal(lgIDs(got), newest) || got.NextCursor != 0 {
		t.Errorf("limit=1000: %d rows next %d", len(got.Logs), got.NextCursor)
	}
	// Filters and cursors combine.
	got = f.logs(t, f.ownTok, "logs-a", "service=api&limit=2", http.StatusOK)
	a := f.ids["logs-a"]
	if !slices.Equal(lgIDs(got), []int64{a[3], a[1]}) || got.NextCursor != a[1] {
		t.Fatalf("service=api&limit=2: %v next %d", lgIDs(got), got.NextCursor)
	}
	got = f.logs(t, f.ownTok, "logs-a", "service=api&limit=2&before="+strconv.FormatInt(got.NextCursor, 10), http.StatusOK)
	if !slices.Equal(lgIDs(got), []int64{a[0]}) || got.NextCursor != 0 {
		t.Errorf("second page: %v next %d", lgIDs(got), got.NextCursor)
	}
}

func TestLogsNeedVaultMembership(t *testing.T) {
	f := newLgFixture(t)
	member := f.agent(t, f.own, "lg-member", "member", apitype.AgentVault{VaultName: "logs-a", VaultRole: "member"})
	proxyOnly := f.agent(t, f.own, "lg-proxy", "member", apitype.AgentVault{VaultName: "logs-a", VaultRole: "proxy"})
	elsewhere := f.agent(t, f.own, "lg-else", "member", apitype.AgentVault{VaultName: "logs-b", VaultRole: "admin"})
	_, outsider := f.user(t, "outsider@example.com")
	proxySession := f.session(t, f.own, "logs-a", "proxy")
	memberSession := f.session(t, f.own, "logs-a", "member")

	for _, c := range []struct {
		who, tok, vault string
		want            int
	}{
		{"owner", f.ownTok, "logs-a", 200},
		{"member agent", member, "logs-a", 200},
		{"member session", memberSession, "logs-a", 200},
		{"proxy agent", proxyOnly, "logs-a", 403},
		{"proxy session", proxySession, "logs-a", 403},
		{"agent of another vault", elsewhere, "logs-a", 404},
		{"user without the vault", outsider, "logs-a", 404},
		{"anonymous", "", "logs-a", 401},
		{"unknown vault", f.ownTok, "no-such-vault", 404},
	} {
		for _, path := range []string{"/logs", "/logs?status=2xx", "/discovered-hosts"} {
			r := f.raw(t, http.MethodGet, "/v1/vaults/"+c.vault+path, c.tok, nil)
			if r.code != c.want {
				t.Errorf("%s GET %s: %d (%s), want %d", c.who, path, r.code, r.body, c.want)
			}
			if c.want != 200 && (bytes.Contains(r.body, []byte("example.com")) || bytes.Contains(r.body, []byte("example.org"))) {
				t.Errorf("%s got rows: %s", c.who, r.body)
			}
		}
	}
	// The member agent sees what the owner sees.
	if got, own := f.logs(t, member, "logs-a", "", 200), f.logs(t, f.ownTok, "logs-a", "", 200); !slices.Equal(lgIDs(got), lgIDs(own)) {
		t.Errorf("member agent sees %v, owner %v", lgIDs(got), lgIDs(own))
	}
}

func TestDiscoveredHosts(t *testing.T) {
	f := newLgFixture(t)
	r := f.raw(t, http.MethodGet, "/v1/vaults/logs-a/discovered-hosts", f.ownTok, nil)
	if r.code != 200 {
		t.Fatalf("discovered-hosts: %d %s", r.code, r.body)
	}
	var got apitype.DiscoveredHosts
	r.into(t, &got)
	// Unmatched rows only (service ""), grouped by host and port, busiest
	// first, then by host.
	want := []apitype.DiscoveredHost{
		{Host: "unknown.example.org", Port: 443, Count: 2, LastSeen: lgT0.Add(8 * time.Minute)},
		{Host: "other.example.net", Port: 443, Count: 1, LastSeen: lgT0.Add(5 * time.Minute)},
		{Host: "unknown.example.org", Port: 8443, Count: 1, LastSeen: lgT0.Add(4 * time.Minute)},
	}
	if got.Vault != "logs-a" || len(got.Hosts) != len(want) {
		t.Fatalf("discovered-hosts = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got.Hosts[i], want[i]
		if g.Host != w.Host || g.Port != w.Port || g.Count != w.Count || !g.LastSeen.Equal(w.LastSeen) {
			t.Errorf("host %d = %+v, want %+v", i, g, w)
		}
	}
	// A vault whose rows all matched a service has none; JSON [] not null.
	r = f.raw(t, http.MethodGet, "/v1/vaults/logs-b/discovered-hosts", f.ownTok, nil)
	if r.code != 200 || string(trimNL(r.body)) != `{"vault":"logs-b","hosts":[]}` {
		t.Errorf("logs-b discovered-hosts: %d %s", r.code, r.body)
	}
	// Blind tunnels count too (service "").
	r = f.raw(t, http.MethodGet, "/v1/vaults/logs-bulk/discovered-hosts", f.ownTok, nil)
	got = apitype.DiscoveredHosts{}
	r.into(t, &got)
	if len(got.Hosts) != 1 || got.Hosts[0].Host != "bulk.example.com" || got.Hosts[0].Count != 250 {
		t.Errorf("logs-bulk discovered-hosts: %+v", got.Hosts)
	}
}
