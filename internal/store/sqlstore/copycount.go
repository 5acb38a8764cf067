package sqlstore

import (
	"context"
	"fmt"
)

// CountAll tells progress the row count of every table CopyAll would
// copy from src, changing nothing (a dry run of a copy). Tables an older
// schema lacks count as empty: migrating creates them so.
func CountAll(ctx context.Context, src *DB, progress CopyProgress) error {
	for _, t := range copyTables {
		ok, err := src.d.tableExists(ctx, src.sql, t)
		if err != nil {
			return fmt.Errorf("reading %s: %w", t, err)
		}
		var n int64
		if ok {
			if err := src.sql.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
				return fmt.Errorf("counting %s: %w", t, err)
			}
		}
		if progress != nil {
			progress(t, n)
		}
	}
	return nil
}
