package sqlstore_test

import (
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// plantSetting writes one settings row as an older server left it.
func plantSetting(t *testing.T, db *sqlstore.DB, key, value string) {
	t.Helper()
	if _, err := db.SQL().Exec(db.Rebind(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
}

// Rate-limit overrides stored by an older server (keys as the owner typed
// them, in any case) still load, as the typed overrides, and are written
// back in the same form; a stored row that is not valid is an error, not
// silently no limits.
func TestStoredRateLimitOverrides(t *testing.T) {
	db := newDB(t)
	plantSetting(t, db, "rate_limit_overrides", `{"proxy_rate":"600/m","API_BURST":"100","auth_window":"off"}`)
	s, err := db.Settings().Get(ctx)
	mustNil(t, err)
	l, err := s.RateLimitOverrides.Limits()
	mustNil(t, err)
	if l[ratelimit.TierProxy].Rate != 10 || l[ratelimit.TierAPI].Burst != 100 || l[ratelimit.TierAuth].Window != -1 {
		t.Fatalf("the old row read as %+v", l)
	}
	mustNil(t, db.Settings().Put(ctx, s))
	var stored string
	mustNil(t, db.SQL().QueryRow(db.Rebind(`SELECT value FROM settings WHERE key = ?`), "rate_limit_overrides").Scan(&stored))
	if stored != `{"API_BURST":"100","AUTH_WINDOW":"off","PROXY_RATE":"600/m"}` {
		t.Fatalf("written back as %s", stored)
	}
	for _, bad := range []string{`{"PROXY_SPEED":"1"}`, `{"PROXY_RATE":"fast"}`, `["PROXY_RATE"]`} {
		plantSetting(t, db, "rate_limit_overrides", bad)
		if _, err := db.Settings().Get(ctx); err == nil {
			t.Errorf("stored overrides %s loaded without an error", bad)
		}
	}
}
