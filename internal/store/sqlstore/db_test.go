package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestOpenSQLiteCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "agent-vault.db")
	db, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("database file mode = %o, want 600", m)
	}
	if m := fileMode(t, dir); m != 0o700 {
		t.Errorf("created directory mode = %o, want 700", m)
	}
	// A write creates the WAL; it must be private too (it holds row data).
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	for _, side := range []string{"-wal", "-shm"} {
		if m := fileMode(t, path+side); m&0o077 != 0 {
			t.Errorf("%s file mode = %o, readable by others", side, m)
		}
	}
}

func TestOpenSQLiteTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "av.db")
	mustNil(t, os.WriteFile(path, nil, 0o644))
	mustNil(t, os.Chmod(path, 0o644))
	db, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("existing file mode after open = %o, want 600", m)
	}
}

func TestOpenSQLiteRefusesNonDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "av.db")
	mustNil(t, os.WriteFile(path, []byte(strings.Repeat("this is not a database file\n", 200)), 0o600))
	db, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{})
	if err == nil {
		_, err = db.Migrate(ctx)
		db.Close()
	}
	if err == nil {
		t.Fatal("opened and migrated a file that is not a database")
	}
}

// Pragmas come from the DSN, so every pooled connection has them, not only
// the first one.
func TestPragmasOnEveryConnection(t *testing.T) {
	db, _ := openDB(t, sqlstore.SQLiteOptions{BusyTimeout: 1500 * time.Millisecond})
	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 4; i++ {
		c, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var fk, busy, sync int
		var jm string
		mustNil(t, c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk))
		mustNil(t, c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy))
		mustNil(t, c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync))
		mustNil(t, c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&jm))
		if fk != 1 || busy != 1500 || sync != 2 || jm != "wal" {
			t.Errorf("conn %d: foreign_keys=%d busy_timeout=%d synchronous=%d journal_mode=%s; want 1, 1500, 2 (FULL), wal",
				i, fk, busy, sync, jm)
		}
	}
}

func TestMigrate(t *testing.T) {
	db, path := openDB(t, sqlstore.SQLiteOptions{})
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != 0 {
		t.Fatalf("fresh SchemaVersion = %d, %v; want 0", v, err)
	}
	n, err := db.Migrate(ctx)
	if err != nil || n < 1 {
		t.Fatalf("first Migrate = %d, %v", n, err)
	}
	v, err = db.SchemaVersion(ctx)
	if err != nil || v != n {
		t.Fatalf("SchemaVersion after %d migrations = %d, %v", n, v, err)
	}
	for _, table := range []string{"keyring", "users", "user_sessions", "vaults", "vault_users", "invites", "invite_vaults", "settings"} {
		var c int
		mustNil(t, db.SQL().QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?`, table).Scan(&c))
		if c != 1 {
			t.Errorf("table %s missing after Migrate", table)
		}
	}
	// Idempotent, in the same process and after reopening.
	if n2, err := db.Migrate(ctx); err != nil || n2 != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n2, err)
	}
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	mustNil(t, db.Close())
	db2, err := sqlstore.OpenSQLite(path, sqlstore.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if n3, err := db2.Migrate(ctx); err != nil || n3 != 0 {
		t.Fatalf("Migrate after reopen = %d, %v; want 0, nil", n3, err)
	}
	if c, err := db2.Users().Count(ctx); err != nil || c != 1 {
		t.Errorf("data lost across reopen+migrate: count %d, %v", c, err)
	}
	var rows int
	mustNil(t, db2.SQL().QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&rows))
	if rows != n {
		t.Errorf("schema_migrations has %d rows, want %d", rows, n)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	db := newDB(t)
	cur, _ := db.SchemaVersion(ctx)
	_, err := db.SQL().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (` + strconv.Itoa(cur+1) + `, 'future.sql', '2099-01-01T00:00:00.000000000Z')`)
	mustNil(t, err)
	n, err := db.Migrate(ctx)
	if err == nil {
		t.Fatal("Migrate accepted a schema newer than the binary")
	}
	if n != 0 || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Migrate = %d, %v; want 0 and a message saying the schema is newer", n, err)
	}
}

func TestInTxCommits(t *testing.T) {
	db := newDB(t)
	err := db.InTx(ctx, func(tx store.Store) error {
		createUser(t, tx, user("u1", "a@example.com", model.RoleOwner))
		createVault(t, tx, vault("v1", "default"))
		// A transaction reads its own writes.
		if _, err := tx.Users().ByEmail(ctx, "a@example.com"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return tx.Grants().Put(ctx, model.VaultGrant{VaultID: "v1", UserID: "u1", Role: model.VaultAdmin, CreatedAt: t0})
	})
	mustNil(t, err)
	if _, err := db.Grants().Get(ctx, "v1", "u1"); err != nil {
		t.Errorf("committed grant not visible: %v", err)
	}
}

func TestInTxRollsBackEverything(t *testing.T) {
	db := newDB(t)
	createUser(t, db, user("u0", "keep@example.com", model.RoleOwner))
	mustNil(t, db.Settings().Put(ctx, model.Settings{InviteOnly: true}))
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx store.Store) error {
		createUser(t, tx, user("u1", "a@example.com", model.RoleMember))
		createVault(t, tx, vault("v1", "prod"))
		mustNil(t, tx.Grants().Put(ctx, model.VaultGrant{VaultID: "v1", UserID: "u1", Role: model.VaultAdmin, CreatedAt: t0}))
		mustNil(t, tx.Sessions().Create(ctx, session("s1", "u1", t0)))
		mustNil(t, tx.Users().SetRole(ctx, "u0", model.RoleNoAccess, t0))
		mustNil(t, tx.Settings().Put(ctx, model.Settings{InviteOnly: false}))
		mustNil(t, tx.Users().Delete(ctx, "u0"))
		// Nested InTx joins the outer transaction.
		mustNil(t, tx.InTx(ctx, func(inner store.Store) error {
			createVault(t, inner, vault("v2", "staging"))
			return nil
		}))
		return fmt.Errorf("late failure: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx err = %v, want the callback's error", err)
	}
	if n, _ := db.Users().Count(ctx); n != 1 {
		t.Errorf("users after rollback = %d, want 1", n)
	}
	u, err := db.Users().ByID(ctx, "u0")
	if err != nil || u.Role != model.RoleOwner {
		t.Errorf("u0 after rollback = %+v, %v; want the owner untouched", u, err)
	}
	if vs, _ := db.Vaults().List(ctx); len(vs) != 0 {
		t.Errorf("vaults after rollback = %v, want none (including the nested one)", vs)
	}
	if _, err := db.Sessions().ListByUser(ctx, "u1"); err != nil {
		t.Error(err)
	}
	if s, _ := db.Settings().Get(ctx); !s.InviteOnly {
		t.Error("settings change survived the rollback")
	}
	var n int
	mustNil(t, db.SQL().QueryRow(`SELECT (SELECT count(*) FROM vault_users) + (SELECT count(*) FROM user_sessions)`).Scan(&n))
	if n != 0 {
		t.Errorf("%d grant/session rows survived the rollback", n)
	}
}

func TestNestedInTxErrorRollsBackOuter(t *testing.T) {
	db := newDB(t)
	inner := errors.New("inner")
	err := db.InTx(ctx, func(tx store.Store) error {
		createUser(t, tx, user("u1", "a@example.com", model.RoleOwner))
		return tx.InTx(ctx, func(tx2 store.Store) error {
			createVault(t, tx2, vault("v1", "default"))
			return inner
		})
	})
	wantErr(t, "nested", err, inner)
	if n, _ := db.Users().Count(ctx); n != 0 {
		t.Errorf("outer write survived an inner failure: %d users", n)
	}
}

// Readers outside a write transaction see the last committed state, not
// the transaction's uncommitted writes, and are not blocked by it.
func TestUncommittedInvisibleToReaders(t *testing.T) {
	db := newDB(t)
	err := db.InTx(ctx, func(tx store.Store) error {
		createUser(t, tx, user("u1", "a@example.com", model.RoleOwner))
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := db.Users().ByEmail(rctx, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("outside reader during tx: %v, want ErrNotFound", err)
		}
		return nil
	})
	mustNil(t, err)
	if _, err := db.Users().ByEmail(ctx, "a@example.com"); err != nil {
		t.Errorf("after commit: %v", err)
	}
}

func TestTimesRoundTripUTCWithNanoseconds(t *testing.T) {
	db := newDB(t)
	created := time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.FixedZone("PST", -8*3600))
	updated := created.Add(time.Nanosecond)
	u := user("u1", "a@example.com", model.RoleOwner)
	u.CreatedAt, u.UpdatedAt = created, updated
	createUser(t, db, u)
	got, err := db.Users().ByID(ctx, "u1")
	mustNil(t, err)
	sameTime(t, "CreatedAt", got.CreatedAt, created)
	sameTime(t, "UpdatedAt", got.UpdatedAt, updated)
	if got.CreatedAt.Nanosecond() != 999999999 {
		t.Errorf("nanoseconds lost: %d", got.CreatedAt.Nanosecond())
	}
	// Stored as fixed-width UTC text so that string order is time order.
	var raw string
	mustNil(t, db.SQL().QueryRow(`SELECT created_at FROM users WHERE id = 'u1'`).Scan(&raw))
	if raw != "2026-01-01T07:59:59.999999999Z" {
		t.Errorf("stored created_at = %q", raw)
	}
	// A whole-second time still has a fixed width.
	u2 := user("u2", "b@example.com", model.RoleMember)
	u2.CreatedAt = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	createUser(t, db, u2)
	mustNil(t, db.SQL().QueryRow(`SELECT created_at FROM users WHERE id = 'u2'`).Scan(&raw))
	if raw != "2025-01-01T00:00:00.000000000Z" {
		t.Errorf("stored whole-second created_at = %q", raw)
	}
	// Monotonic clock readings and locations do not survive, the instant does.
	now := time.Now()
	mustNil(t, db.Users().SetPassword(ctx, "u2", "h", now))
	got2, _ := db.Users().ByID(ctx, "u2")
	sameTime(t, "UpdatedAt(now)", got2.UpdatedAt, now)
}

// Several readers run while writers commit; with WAL and the busy timeout
// none of them sees SQLITE_BUSY.
func TestConcurrentReadersAndWriters(t *testing.T) {
	db := newDB(t)
	createVault(t, db, vault("v0", "default"))
	const writers, perWriter, readers = 3, 15, 4
	var wg sync.WaitGroup
	errc := make(chan error, writers*perWriter+readers*1000)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				id := fmt.Sprintf("u-%d-%d", w, i)
				err := db.InTx(ctx, func(tx store.Store) error {
					if err := tx.Users().Create(ctx, user(id, id+"@example.com", model.RoleMember)); err != nil {
						return err
					}
					if _, err := tx.Users().Count(ctx); err != nil {
						return err
					}
					return tx.Grants().Put(ctx, model.VaultGrant{VaultID: "v0", UserID: id, Role: model.VaultMember, CreatedAt: t0})
				})
				if err != nil {
					errc <- fmt.Errorf("writer %d: %w", w, err)
				}
				// Writes outside InTx too.
				if err := db.Sessions().Create(ctx, session("s-"+id, id, t0)); err != nil {
					errc <- fmt.Errorf("writer %d session: %w", w, err)
				}
			}
		}(w)
	}
	var rwg sync.WaitGroup
	for r := 0; r < readers; r++ {
		rwg.Add(1)
		go func(r int) {
			defer rwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				us, err := db.Users().List(ctx)
				if err != nil {
					errc <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				gs, err := db.Grants().ListByVault(ctx, "v0")
				if err != nil {
					errc <- fmt.Errorf("reader %d grants: %w", r, err)
					return
				}
				// Grants are written with their user in one transaction, and
				// the grant list is read after the user list.
				if len(gs) < len(us) {
					errc <- fmt.Errorf("reader %d: %d users but only %d grants: saw a half-applied transaction", r, len(us), len(gs))
					return
				}
			}
		}(r)
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n, _ := db.Users().Count(ctx); n != writers*perWriter {
		t.Errorf("users = %d, want %d", n, writers*perWriter)
	}
	if gs, _ := db.Grants().ListByVault(ctx, "v0"); len(gs) != writers*perWriter {
		t.Errorf("grants = %d, want %d", len(gs), writers*perWriter)
	}
}
