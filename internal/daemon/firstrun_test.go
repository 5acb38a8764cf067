package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// A fresh instance logs a setup code (and the page to enter it in); one
// with an account logs none and turns the page off.
func TestFirstRunCode(t *testing.T) {
	ctx := context.Background()
	db := sqltest.Open(t)
	t.Cleanup(func() { _ = db.Close() })
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	b := broker.New(broker.Options{Store: db, Keyring: kr, Logger: log, PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := firstRunCode(ctx, b, "http://vault.test:14321", log)
	if err != nil || len(code) != 23 {
		t.Fatalf("fresh instance: code %q, err %v", code, err)
	}
	if !strings.Contains(out.String(), "setup_code="+code) || !strings.Contains(out.String(), "http://vault.test:14321/setup") {
		t.Errorf("the log lacks the code or the page:\n%s", out.String())
	}
	if again, _ := firstRunCode(ctx, b, "http://vault.test:14321", log); again == code {
		t.Error("two starts printed the same code")
	}
	if _, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code, err := firstRunCode(ctx, b, "http://vault.test:14321", log); err != nil || code != "" || out.Len() != 0 {
		t.Errorf("with an account: code %q, err %v, log %q", code, err, out.String())
	}
}
