package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

// migrationSteps run in a migration's transaction after its SQL file, by
// engine and version: the parts of a migration that SQL alone cannot do.
var migrationSteps = map[string]map[int]func(ctx context.Context, h *handle) error{
	"sqlite":   {6: convertRequestLogs, sqliteBindingsMigration: bindExistingCredentials},
	"postgres": {postgresBindingsMigration: bindExistingCredentials},
}

// convertRequestLogs moves the rows of the request_logs table of
// migration 5 into segments, a page at a time in id order, then drops the
// table. Ids are kept, so cursors taken before the upgrade stay valid.
func convertRequestLogs(ctx context.Context, h *handle) error {
	const pageSize = 4096
	var after int64
	for {
		rs, err := h.query(ctx, `SELECT id, vault_id, at, actor_kind, actor_name, ingress, method, host, port, path, service,
			credential_keys, status, req_bytes, resp_bytes, duration_ms, error_code
			FROM request_logs WHERE id > ? ORDER BY id LIMIT ?`, after, pageSize)
		if err != nil {
			return err
		}
		var page []model.RequestLog
		for rs.Next() {
			var l model.RequestLog
			var at dbTime
			var kind, keys string
			var ms int64
			if err := rs.Scan(&l.ID, &l.VaultID, &at, &kind, &l.ActorName, &l.Ingress, &l.Method, &l.Host, &l.Port, &l.Path,
				&l.Service, &keys, &l.Status, &l.RequestBytes, &l.ResponseBytes, &ms, &l.ErrorCode); err != nil {
				rs.Close()
				return err
			}
			l.At, l.ActorKind, l.Duration = at.t, model.ActorKind(kind), time.Duration(ms)*time.Millisecond
			if keys != "" {
				l.CredentialKeys = strings.Split(keys, ",")
			}
			page = append(page, l)
			after = l.ID
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		if err := putSegments(ctx, h, page, nil, false); err != nil {
			return err
		}
		if len(page) < pageSize {
			break
		}
	}
	_, err := h.exec(ctx, `DROP TABLE request_logs`)
	return err
}
