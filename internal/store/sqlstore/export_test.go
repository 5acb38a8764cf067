package sqlstore

import "context"

// SetSegmentsPerQuery changes how many segments List fetches at a time,
// so that tests cross batch boundaries; it returns the restore func.
func SetSegmentsPerQuery(n int) (restore func()) {
	old := segmentsPerQuery
	segmentsPerQuery = n
	return func() { segmentsPerQuery = old }
}

// MigrateTo migrates up to version n only, as an older release would.
func (db *DB) MigrateTo(n int) (int, error) { return db.migrateTo(context.Background(), n) }

// BindingsMigration is the version that adds credential bindings on the
// database's engine.
func (db *DB) BindingsMigration() int {
	if db.d.name() == "postgres" {
		return postgresBindingsMigration
	}
	return sqliteBindingsMigration
}
