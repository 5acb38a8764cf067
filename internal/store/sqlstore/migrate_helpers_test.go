package sqlstore_test

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// beforeMigration opens an empty database of the engine under test and
// migrates it to just before the migration whose file name ends in
// suffix, so that a test can plant the rows that migration upgrades.
func beforeMigration(t *testing.T, suffix string) *sqlstore.DB {
	t.Helper()
	db := openUnmigrated(t)
	v := sqlstore.SQLVersionOf(db, suffix)
	if v == 0 {
		t.Fatalf("no %s migration for this engine", suffix)
	}
	if _, err := sqlstore.MigrateTo(ctx, db, v-1); err != nil {
		t.Fatal(err)
	}
	return db
}

// execer runs a statement (with ? placeholders) on db, failing t on an
// error.
func execer(t *testing.T, db *sqlstore.DB) func(q string, args ...any) {
	return func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
