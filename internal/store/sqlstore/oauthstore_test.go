package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// SetValue replaces the sealed value only: the type, the writer and the
// bindings (agents' included) stay, as the vault renewing OAuth tokens is
// nobody's new value.
func TestCredentialSetValueKeepsTypeWriterAndBindings(t *testing.T) {
	db := newDB(t)
	createVault(t, db, vault("v1", "one"))
	cs := db.Credentials()
	mustNil(t, cs.Put(ctx, model.Credential{VaultID: "v1", Key: "TOK", Type: model.CredentialOAuth, Ciphertext: []byte{1}, CreatedAt: t0, UpdatedAt: t0, WrittenBy: "agent:a1"}))
	mustNil(t, cs.Bind(ctx, model.CredentialBinding{VaultID: "v1", Key: "TOK", Pattern: "api.example.com", ByAgent: true, AddedBy: "agent:a1", CreatedAt: t0}))
	later := t0.Add(time.Hour)
	mustNil(t, cs.SetValue(ctx, "v1", "TOK", []byte{2, 3}, later))
	c, err := cs.Get(ctx, "v1", "TOK")
	mustNil(t, err)
	if string(c.Ciphertext) != "\x02\x03" || c.Type != model.CredentialOAuth || c.WrittenBy != "agent:a1" || !c.UpdatedAt.Equal(later) || !c.CreatedAt.Equal(t0) {
		t.Fatalf("after SetValue: %+v", c)
	}
	if got := bindingPatterns(t, db, "v1"); len(got["TOK"]) != 1 {
		t.Fatalf("bindings after SetValue: %v", got)
	}
	if err := cs.SetValue(ctx, "v1", "NOPE", []byte{1}, later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetValue of a missing key: %v", err)
	}
}

// LockName: on PostgreSQL a second holder of the same name waits until
// the first lets go (another name does not), across connections as across
// servers; on SQLite it returns at once.
func TestLockName(t *testing.T) {
	db := newDB(t)
	unlock, err := db.LockName(ctx, "oauth:v1:TOK")
	mustNil(t, err)
	other, err := db.LockName(ctx, "oauth:v1:OTHER")
	mustNil(t, err)
	other()
	if db.Engine() != "postgres" {
		again, err := db.LockName(ctx, "oauth:v1:TOK")
		mustNil(t, err)
		again()
		unlock()
		return
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := db.LockName(short, "oauth:v1:TOK"); err == nil {
		t.Fatal("a second holder got the lock while the first held it")
	}
	got := make(chan func(), 1)
	go func() {
		u, err := db.LockName(ctx, "oauth:v1:TOK")
		if err != nil {
			t.Error(err)
			u = func() {}
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("the waiter did not wait")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	(<-got)()
}
