package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// PasswordPurpose says why the master password is asked for.
type PasswordPurpose int

// Purposes.
const (
	// PurposeUnlock opens an existing protected instance.
	PurposeUnlock PasswordPurpose = iota
	// PurposeNew sets up a fresh instance; an empty answer means passwordless.
	PurposeNew
	// PurposeCheck asks only non-interactive sources (never prompts): used
	// to refuse a password given to a passwordless instance.
	PurposeCheck
)

// PasswordFunc supplies the master password from the environment, stdin
// or a prompt. ok is false when no source offered one.
type PasswordFunc func(p PasswordPurpose) (pw secret.Bytes, ok bool, err error)

// KDF is the Argon2id cost used to wrap the DEK; tests lower it.
var KDF = keyring.DefaultKDF

// openStore opens the database and unlocks the keyring. On an existing
// database the keyring is unlocked before migrations run, so that a wrong
// master password exits without writing anything. It returns holding the
// database's init lock (servers sharing a PostgreSQL database start one at
// a time, so that one creates the keyring, default vault and CA); the
// caller calls initDone once those exist.
func openStore(ctx context.Context, d config.Database, pwf PasswordFunc, log *slog.Logger) (db *sqlstore.DB, kr *keyring.Keyring, initDone func(), err error) {
	db, err = openDatabase(ctx, d, false)
	if err != nil {
		return nil, nil, nil, err
	}
	initDone, err = db.LockInit(ctx)
	if err != nil {
		_ = db.Close()
		return nil, nil, nil, fmt.Errorf("waiting for other servers starting on %s: %w", d, err)
	}
	kr, err = unlock(ctx, db, pwf, log)
	if err != nil {
		initDone()
		_ = db.Close()
		return nil, nil, nil, err
	}
	return db, kr, initDone, nil
}

func unlock(ctx context.Context, db *sqlstore.DB, pwf PasswordFunc, log *slog.Logger) (*keyring.Keyring, error) {
	ver, err := db.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the database schema: %w", err)
	}
	if ver > 0 {
		st, ok, err := db.Keyring().Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the keyring: %w", err)
		}
		if ok {
			kr, err := openKeyring(st, pwf)
			if err != nil {
				return nil, err
			}
			if _, err := db.Migrate(ctx); err != nil {
				return nil, fmt.Errorf("migrating the database: %w", err)
			}
			warnPasswordless(st, log)
			return kr, nil
		}
	}
	// A fresh instance: migrate, then create and store a new DEK.
	if _, err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	pw, _, err := pwf(PurposeNew)
	if err != nil {
		return nil, err
	}
	kr, st, err := keyring.New(pw, KDF)
	pw.Wipe()
	if err != nil {
		return nil, fmt.Errorf("creating the keyring: %w", err)
	}
	if err := db.Keyring().Save(ctx, st); err != nil {
		return nil, fmt.Errorf("saving the keyring: %w", err)
	}
	warnPasswordless(st, log)
	return kr, nil
}

// openKeyring unlocks a stored state with the password from pwf.
func openKeyring(st keyring.State, pwf PasswordFunc) (*keyring.Keyring, error) {
	var pw secret.Bytes
	if st.Protected() {
		p, ok, err := pwf(PurposeUnlock)
		if err != nil {
			return nil, err
		}
		if !ok || p.IsEmpty() {
			return nil, errors.New("this instance is encrypted with a master password: set AGENT_VAULT_MASTER_PASSWORD, pipe it with --password-stdin, or run in a terminal to be prompted")
		}
		pw = p
		defer pw.Wipe()
	} else if p, ok, err := pwf(PurposeCheck); err != nil {
		return nil, err
	} else if ok && !p.IsEmpty() {
		return nil, errors.New("a master password was given, but this instance has none (passwordless mode): unset it, or protect the instance with `agent-vault master-password set`")
	}
	kr, err := keyring.Open(st, pw)
	if errors.Is(err, keyring.ErrWrongPassword) {
		return nil, errors.New("the master password is wrong: nothing was changed; try again with the right one")
	}
	if err != nil {
		return nil, fmt.Errorf("unlocking the keyring: %w", err)
	}
	return kr, nil
}

func warnPasswordless(st keyring.State, log *slog.Logger) {
	if !st.Protected() {
		log.Warn("PASSWORDLESS MODE: the data encryption key is stored unwrapped next to the data it protects; anyone who can read the database file can decrypt every credential. Protect it with `agent-vault master-password set`.")
	}
}

// ChangeMasterPassword re-wraps the DEK of the instance in database d:
// with next empty it becomes passwordless. Only the keyring row changes;
// no credential is re-encrypted.
func ChangeMasterPassword(ctx context.Context, d config.Database, current, next secret.Bytes, wantProtected *bool) error {
	db, err := openDatabase(ctx, d, false)
	if err != nil {
		return err
	}
	defer db.Close()
	ver, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	st, ok, err := db.Keyring().Load(ctx)
	if ver == 0 || !ok || err != nil {
		return fmt.Errorf("no Agent Vault instance found in %s: start the server once first", d)
	}
	if wantProtected != nil && st.Protected() != *wantProtected {
		if st.Protected() {
			return errors.New("this instance already has a master password: use `agent-vault master-password change`")
		}
		return errors.New("this instance has no master password: use `agent-vault master-password set`")
	}
	kr, err := keyring.Open(st, current)
	if errors.Is(err, keyring.ErrWrongPassword) {
		return errors.New("the current master password is wrong: nothing was changed")
	}
	if err != nil {
		return err
	}
	nst, err := kr.Wrap(next, KDF)
	if err != nil {
		return err
	}
	what := map[bool]string{true: "change", false: "set"}[st.Protected()]
	if next.IsEmpty() {
		what = "remove"
	}
	trailed, err := db.HasAdminTrail(ctx)
	if err != nil {
		return err
	}
	// The new wrapping and its row in the admin audit trail commit together.
	return db.InTx(ctx, func(tx store.Store) error {
		if err := tx.Keyring().Save(ctx, nst); err != nil {
			return err
		}
		if !trailed { // a schema older than the trail: the server adds it at its next start
			return nil
		}
		return broker.RecordMasterPassword(ctx, tx, broker.TrailKey(kr), what)
	})
}

// IsProtected reports whether the instance in database d has a master
// password.
func IsProtected(ctx context.Context, d config.Database) (bool, error) {
	db, err := openDatabase(ctx, d, false)
	if err != nil {
		return false, err
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v == 0 {
		return false, fmt.Errorf("no Agent Vault instance found in %s: start the server once first", d)
	}
	st, ok, err := db.Keyring().Load(ctx)
	if err != nil || !ok {
		return false, fmt.Errorf("no Agent Vault instance found in %s: start the server once first", d)
	}
	return st.Protected(), nil
}
