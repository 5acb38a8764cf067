package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// LogFilter narrows a request log listing (empty fields: no filter).
type LogFilter struct {
	Service, Status, Actor, Host, Since, Until string
	Before, After                              int64
	Limit                                      int
}

// RequestLogs reads a vault's request log.
func (c *Client) RequestLogs(ctx context.Context, vault string, f LogFilter) (out apitype.RequestLogList, err error) {
	q := url.Values{}
	for k, v := range map[string]string{"service": f.Service, "status": f.Status, "actor": f.Actor, "host": f.Host, "since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Before > 0 {
		q.Set("before", strconv.FormatInt(f.Before, 10))
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(vault)+"/logs?"+q.Encode(), nil, &out)
}

// DiscoveredHosts lists hosts no service matched.
func (c *Client) DiscoveredHosts(ctx context.Context, vault string) (out apitype.DiscoveredHosts, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(vault)+"/discovered-hosts", nil, &out)
}
