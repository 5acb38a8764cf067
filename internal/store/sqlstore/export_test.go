package sqlstore

import (
	"context"
	"strings"
)

// SetSegmentsPerQuery changes how many segments List fetches at a time,
// so that tests cross batch boundaries; it returns the restore func.
func SetSegmentsPerQuery(n int) (restore func()) {
	old := segmentsPerQuery
	segmentsPerQuery = n
	return func() { segmentsPerQuery = old }
}

// BindingsMigration is the version that adds credential bindings on the
// database's engine.
func (db *DB) BindingsMigration() int {
	if db.d.name() == "postgres" {
		return postgresBindingsMigration
	}
	return sqliteBindingsMigration
}

// MigrateTo applies the migrations up to and including version last.
func MigrateTo(ctx context.Context, db *DB, last int) (int, error) { return db.migrateTo(ctx, last) }

// SQLVersionOf is the version of the newest migration of db's engine
// whose file name ends with suffix (e.g. "_owner_ids.sql"), so tests of a
// migration survive its renumbering.
func SQLVersionOf(db *DB, suffix string) int {
	ms, err := migrationsOf(db.d)
	if err != nil {
		panic(err)
	}
	for _, m := range ms {
		if strings.HasSuffix(m.name, suffix) {
			return m.version
		}
	}
	return 0
}

// SetSegmentSummaries turns writing and using segment summaries on or
// off; it returns the restore func.
func SetSegmentSummaries(write, read bool) (restore func()) {
	ow, or := summarizeSegments, skipBySummary
	summarizeSegments, skipBySummary = write, read
	return func() { summarizeSegments, skipBySummary = ow, or }
}

// SetSummariesPerQuery changes how many summaries List reads at a time.
func SetSummariesPerQuery(n int) (restore func()) {
	old := summariesPerQuery
	summariesPerQuery = n
	return func() { summariesPerQuery = old }
}
