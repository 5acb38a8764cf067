package sqltest_test

import (
	"context"
	"testing"

	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// TestOpenGivesFreshMigratedDatabases: every database Open returns is at
// the newest schema (nothing is left to migrate) and its own: what one
// test writes, the next does not see (SQLite databases are copies of one
// migrated file).
func TestOpenGivesFreshMigratedDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := sqltest.Open(t), sqltest.Open(t)
	for name, db := range map[string]interface {
		Migrate(context.Context) (int, error)
	}{"first": a, "second": b} {
		if n, err := db.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("%s database: %d migrations left to apply (%v), want 0", name, n, err)
		}
	}
	if _, err := a.SQL().ExecContext(ctx, `CREATE TABLE only_in_a (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SQL().ExecContext(ctx, `SELECT x FROM only_in_a`); err == nil {
		t.Fatal("a table made in one test database is in another")
	}
	c, d := sqltest.OpenTwo(t)
	if _, err := c.SQL().ExecContext(ctx, `CREATE TABLE shared (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL().ExecContext(ctx, `SELECT x FROM shared`); err != nil {
		t.Fatalf("OpenTwo's pools are not on one database: %v", err)
	}
}
