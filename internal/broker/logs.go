package broker

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
)

// LogQuery is the filters of GET /v1/vaults/{name}/logs, as strings from
// the query: service, status (200, or 2xx/4xx/5xx), actor, host, since and
// until (RFC 3339, or an age like 1h), before and after (id cursors), limit.
type LogQuery struct {
	Service, Status, Actor, Host, Since, Until, Before, After, Limit string
}

// parseLogQuery validates the filters, naming the parameter at fault; an
// age in since or until counts back from now.
func parseLogQuery(q LogQuery, now time.Time) (store.RequestLogFilter, error) {
	var f store.RequestLogFilter
	f.Service, f.Actor, f.Host = q.Service, q.Actor, model.LowerASCII(q.Host)
	switch s := strings.ToLower(q.Status); {
	case s == "":
	case len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5':
		f.StatusClass = int(s[0] - '0')
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 599 {
			return f, errs.Invalid("status", "status must be a code like 403 or a class like 4xx, not %q", q.Status)
		}
		f.Status = n
	}
	w, err := parseListParams(listParams{Since: q.Since, Until: q.Until, Before: q.Before, After: q.After, Limit: q.Limit}, now, "a row id")
	if err != nil {
		return f, err
	}
	f.Since, f.Until, f.Before, f.After, f.Limit = w.Since, w.Until, w.Before, w.After, w.Limit
	return f, nil
}

// maxLogPageBytes bounds the texts of one page of the request log: a page
// ends early (with a cursor to the rest) rather than grow past it.
const maxLogPageBytes = 1 << 20

// logRowBytes is about what a row costs in a page: its texts plus the
// fixed fields.
func logRowBytes(r model.RequestLog) int {
	n := 200 + len(r.ActorName) + len(r.Method) + len(r.Host) + len(r.Path) + len(r.Service) + len(r.ErrorCode)
	for _, k := range r.CredentialKeys {
		n += len(k) + 3
	}
	return n
}

// RequestLogs lists a vault's request log (member+), newest first, or
// oldest first after a cursor (for following). Texts are capped
// (model.CapLogField; rows written before the cap existed may hold more),
// and a page holds at most limit rows and about maxLogPageBytes of text;
// a page cut short by its size still carries a cursor to the rest.
func (b *Broker) RequestLogs(ctx context.Context, a Actor, vault string, q LogQuery) (apitype.RequestLogList, error) {
	out := apitype.RequestLogList{Vault: vault, Logs: []apitype.RequestLog{}}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.ViewLogs)
	if err != nil {
		return out, err
	}
	f, err := parseLogQuery(q, b.now())
	if err != nil {
		return out, err
	}
	f.VaultID = v.ID
	rows, err := b.st.RequestLogs().List(ctx, f)
	if err != nil {
		return out, internal(err, "reading the request log")
	}
	size, cut := 0, false
	for i, r := range rows {
		r = r.Capped()
		if size += logRowBytes(r); size > maxLogPageBytes && i > 0 {
			rows, cut = rows[:i], true
			break
		}
		out.Logs = append(out.Logs, apitype.RequestLog{
			ID: r.ID, Time: r.At, ActorType: string(r.ActorKind), Actor: r.ActorName, Ingress: r.Ingress, Method: r.Method,
			Host: r.Host, Port: r.Port, Path: r.Path, Service: r.Service, CredentialKeys: r.CredentialKeys, Status: r.Status,
			RequestBytes: r.RequestBytes, ResponseBytes: r.ResponseBytes, DurationMS: r.Duration.Milliseconds(), ErrorCode: r.ErrorCode,
		})
	}
	if f.After == 0 && (len(rows) == f.Limit || cut) {
		out.NextCursor = rows[len(rows)-1].ID
	}
	return out, nil
}

// DiscoveredHosts lists hosts agents reached that no service matched,
// busiest first: candidates for new services (member+).
func (b *Broker) DiscoveredHosts(ctx context.Context, a Actor, vault string) (apitype.DiscoveredHosts, error) {
	out := apitype.DiscoveredHosts{Vault: vault, Hosts: []apitype.DiscoveredHost{}}
	v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.ViewLogs)
	if err != nil {
		return out, err
	}
	hs, err := b.st.RequestLogs().Unmatched(ctx, v.ID, 200)
	if err != nil {
		return out, internal(err, "reading the request log")
	}
	for _, h := range hs {
		out.Hosts = append(out.Hosts, apitype.DiscoveredHost{Host: model.CapLogField(h.Host), Port: h.Port, Count: h.Count, LastSeen: h.LastSeen})
	}
	return out, nil
}
