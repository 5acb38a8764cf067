package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

// The migrations, by engine, that add credential bindings. Their Go step
// is bindExistingCredentials; renumbering the migration means changing
// only these.
const (
	sqliteBindingsMigration   = 8
	postgresBindingsMigration = 4
)

// bindExistingCredentials gives every credential the binding it had in
// effect before bindings existed: the host pattern of each service that
// references it (disabled services included). Services that no longer
// parse bind nothing, so their credentials are not injected until a user
// binds them.
func bindExistingCredentials(ctx context.Context, h *handle) error {
	rows, err := h.query(ctx, `SELECT vault_id, services FROM service_sets ORDER BY vault_id`)
	if err != nil {
		return err
	}
	type set struct{ vault, js string }
	var sets []set
	for rows.Next() {
		var s set
		if err := rows.Scan(&s.vault, &s.js); err != nil {
			rows.Close()
			return err
		}
		sets = append(sets, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := fmtTime(time.Now())
	for _, s := range sets {
		have := map[string]bool{}
		krows, err := h.query(ctx, `SELECT key FROM credentials WHERE vault_id = ?`, s.vault)
		if err != nil {
			return err
		}
		for krows.Next() {
			var k string
			if err := krows.Scan(&k); err != nil {
				krows.Close()
				return err
			}
			have[k] = true
		}
		krows.Close()
		if err := krows.Err(); err != nil {
			return err
		}
		var raw []apitype.Service
		if err := json.Unmarshal([]byte(s.js), &raw); err != nil {
			continue
		}
		for _, r := range raw {
			svc, err := service.FromAPI(r, "")
			if err != nil {
				continue
			}
			for _, k := range svc.ReferencedKeys() {
				if !have[k] {
					continue
				}
				if _, err := h.exec(ctx, `INSERT INTO credential_bindings (vault_id, key, pattern, by_agent, added_by, created_at)
					VALUES (?, ?, ?, 0, 'upgrade', ?) ON CONFLICT (vault_id, key, pattern) DO NOTHING`, s.vault, k, svc.Pattern.String(), now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
