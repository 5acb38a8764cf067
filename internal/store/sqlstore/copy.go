package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/agent-vault/agent-vault/internal/store"
)

// copyTables is every table of the schema in foreign-key order (a table
// after those it references). The bookkeeping tables — schema_migrations
// and PostgreSQL's change_epoch — are each engine's own and not copied.
var copyTables = []string{
	"keyring", "users", "user_sessions", "password_resets", "email_verifications", "vaults", "vault_users", "invites", "invite_vaults", "settings",
	"credentials", "credential_bindings", "service_sets", "agents", "vault_agents", "scoped_sessions", "ca",
	"proposals", "proposal_values", "request_log_segments", "request_log_seq", "discovered_hosts",
	"admin_events", "admin_event_head",
}

// notCopied are tables that belong to one engine's bookkeeping, the
// shared rate budgets (spent budgets, nothing to keep) and OAuth
// authorization flows in progress (ten minutes long; start them again).
var notCopied = []string{"schema_migrations", "change_epoch", "sqlite_sequence", "rate_budgets", "oauth_states"}

// CopyProgress is told each table copied, with its row count.
type CopyProgress func(table string, rows int64)

// CopyAll copies every row of src into dst, in one transaction of dst:
// both must be migrated to the current schema of their engine, and dst
// must hold no instance yet (no keyring, user or vault). Ids, tokens'
// hashes and ciphertexts are copied as they are, so the data key, the
// sessions and the CA carry over. On any error dst is left unchanged.
func CopyAll(ctx context.Context, src, dst *DB, progress CopyProgress) error {
	if err := checkTablesKnown(ctx, src); err != nil {
		return err
	}
	if err := checkTablesKnown(ctx, dst); err != nil {
		return err
	}
	return dst.InTx(ctx, func(tx store.Store) error {
		h := tx.(*handle)
		// Checked under the write lock, so that no server can create an
		// instance between the check and the copy.
		for _, t := range []string{"keyring", "users", "vaults"} {
			var n int64
			if err := h.row(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
				return fmt.Errorf("reading the target's %s: %w", t, err)
			}
			if n > 0 {
				return fmt.Errorf("the target database already holds an Agent Vault instance (%d rows in %s): copy into an empty database", n, t)
			}
		}
		// Rows the target's migrations created (the request log's id
		// counter) are replaced by the source's.
		for _, t := range slices.Backward(copyTables) {
			if _, err := h.exec(ctx, `DELETE FROM `+t); err != nil {
				return fmt.Errorf("emptying the target's %s: %w", t, err)
			}
		}
		for _, t := range copyTables {
			n, err := copyTable(ctx, src, h, t)
			if err != nil {
				return fmt.Errorf("copying %s: %w", t, err)
			}
			if progress != nil {
				progress(t, n)
			}
		}
		return dst.d.afterCopy(ctx, h)
	})
}

// copyTable copies one table's rows, column by column name.
func copyTable(ctx context.Context, src *DB, dst *handle, table string) (int64, error) {
	rows, err := src.sql.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	insert := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if _, err := dst.exec(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// checkTablesKnown fails when db has a table copyTables does not name, so
// that a table added to the schema cannot be left behind silently.
func checkTablesKnown(ctx context.Context, db *DB) error {
	names, err := db.d.tables(ctx, db.sql)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.Contains(copyTables, n) && !slices.Contains(notCopied, n) {
			return fmt.Errorf("the %s database has a table %q this version does not know how to copy: upgrade agent-vault", db.d.name(), n)
		}
	}
	return nil
}
