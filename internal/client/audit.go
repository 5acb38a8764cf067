package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// AuditFilter narrows a listing of the admin audit trail (empty fields:
// no filter). With FromStart, rows come oldest first after After.
type AuditFilter struct {
	Vault, Action, Actor, Since, Until string
	Before, After                      int64
	FromStart                          bool
	Limit                              int
}

func (f AuditFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"vault": f.Vault, "action": f.Action, "actor": f.Actor, "since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Before > 0 {
		q.Set("before", strconv.FormatInt(f.Before, 10))
	}
	if f.After > 0 || f.FromStart {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q.Encode()
}

// AdminAudit reads the whole admin audit trail (owners); f.Vault narrows
// it to one vault.
func (c *Client) AdminAudit(ctx context.Context, f AuditFilter) (out apitype.AuditEventList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/admin/audit?"+f.query(), nil, &out)
}

// VaultAudit reads one vault's rows of the trail (its admins).
func (c *Client) VaultAudit(ctx context.Context, vault string, f AuditFilter) (out apitype.AuditEventList, err error) {
	f.Vault = ""
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(vault)+"/audit?"+f.query(), nil, &out)
}

// VerifyAudit has the server check the trail's hash chain (owners).
func (c *Client) VerifyAudit(ctx context.Context) (out apitype.AuditVerifyResult, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/admin/audit/verify", nil, &out)
}
