package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
)

// The request log page: /vaults/{name}/logs shows the vault's proxied
// requests, newest first, filtered by service, status, agent, host and
// time range (a plain GET form), a page at a time, optionally refreshing
// itself (?refresh=N seconds, by a meta refresh: no script). Below it, the
// hosts agents reached that no service matched, each with a link that
// opens the service form for it.

// logsPage is the data of the request log page.
type logsPage struct {
	VaultBase
	Service, Status, Agent, Host, Since, Until string
	Refresh                                    int
	Rows                                       []logRow
	Older, Newest                              string // links to the next page and back to the first
	StopRefresh                                string // this page without reloading
	Hosts                                      []hostRow
	Filtered                                   bool
	Refreshes                                  []int
}

type logRow struct {
	Time, Actor, Method, Host, Path, Service, Keys, Error string
	Status                                                int
	Duration                                              int64
	StatusClass                                           string
}

type hostRow struct {
	Host, Count, LastSeen, AddLink string
}

// pageSize is the request log's rows per page.
const pageSize = 50

// localTimeFmt is the value of a datetime-local input (read as UTC).
const localTimeFmt = "2006-01-02T15:04"

func (h *Handler) routeLogs() {
	h.mux.HandleFunc("GET /vaults/{name}/logs", h.logsGet)
}

// toRFC3339 reads a datetime-local value (UTC) or an RFC 3339 time; the
// broker names the parameter when neither fits.
func toRFC3339(s string) string {
	if t, err := time.Parse(localTimeFmt, s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return s
}

func (h *Handler) logsGet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "logs")
	if !ok {
		return
	}
	q := r.URL.Query()
	p := &logsPage{VaultBase: vb, Service: q.Get("service"), Status: q.Get("status"), Agent: q.Get("agent"),
		Host: q.Get("host"), Since: q.Get("since"), Until: q.Get("until"), Refreshes: []int{5, 15, 60}}
	p.Filtered = p.Service != "" || p.Status != "" || p.Agent != "" || p.Host != "" || p.Since != "" || p.Until != ""
	if n, err := strconv.Atoi(q.Get("refresh")); err == nil && n >= 5 && n <= 3600 {
		p.Refresh = n
	}
	lq := broker.LogQuery{Service: p.Service, Status: p.Status, Actor: p.Agent, Host: p.Host,
		Since: toRFC3339(p.Since), Until: toRFC3339(p.Until), Before: q.Get("before"), Limit: strconv.Itoa(pageSize)}
	out, err := h.b.RequestLogs(r.Context(), s.actor, vb.Name, lq)
	status, errMsg := http.StatusOK, ""
	if err != nil {
		status, errMsg = statusOf(err), message(err)
	}
	for _, l := range out.Logs {
		row := logRow{Time: l.Time.UTC().Format("2006-01-02 15:04:05"), Actor: l.Actor, Method: l.Method, Host: l.Host, Path: l.Path,
			Service: l.Service, Keys: strings.Join(l.CredentialKeys, ", "), Error: l.ErrorCode, Status: l.Status, Duration: l.DurationMS}
		if l.Port != 0 && l.Port != 443 && l.Port != 80 {
			row.Host += ":" + strconv.Itoa(l.Port)
		}
		if l.ActorType != "" && l.ActorType != "agent" {
			row.Actor = l.ActorType + ":" + l.Actor
		}
		row.StatusClass = "s" + strconv.Itoa(l.Status/100) + "xx"
		p.Rows = append(p.Rows, row)
	}
	keep := url.Values{}
	for k, v := range map[string]string{"service": p.Service, "status": p.Status, "agent": p.Agent, "host": p.Host, "since": p.Since, "until": p.Until} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	base := vaultPath(vb.Name, "logs")
	if p.Refresh > 0 {
		// The same page without reloading: the reader turns it off here.
		p.StopRefresh = base
		if len(keep) > 0 {
			p.StopRefresh += "?" + keep.Encode()
		}
		keep.Set("refresh", strconv.Itoa(p.Refresh))
	}
	if out.NextCursor > 0 {
		older := url.Values{}
		for k, v := range keep {
			older[k] = v
		}
		older.Set("before", strconv.FormatInt(out.NextCursor, 10))
		p.Older = base + "?" + older.Encode()
	}
	if q.Get("before") != "" {
		p.Newest = base
		if len(keep) > 0 {
			p.Newest += "?" + keep.Encode()
		}
		p.Refresh = 0 // an older page does not change; refreshing it would only reset the reader's place
	}
	if hosts, err := h.b.DiscoveredHosts(r.Context(), s.actor, vb.Name); err == nil {
		for _, x := range hosts.Hosts {
			host := x.Host
			if x.Port != 0 && x.Port != 443 && x.Port != 80 {
				host += ":" + strconv.Itoa(x.Port)
			}
			p.Hosts = append(p.Hosts, hostRow{Host: host, Count: strconv.FormatInt(x.Count, 10), LastSeen: fmtTime(x.LastSeen),
				AddLink: vaultPath(vb.Name, "services", "new") + "?host=" + url.QueryEscape(host)})
		}
	}
	d := &pageData{Title: "Request log · " + vb.Name, Page: p, Error: errMsg, Refresh: p.Refresh}
	h.render(w, r, status, "logs", s, d)
}
