package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

func firstRunBroker(t *testing.T, log *slog.Logger) *broker.Broker {
	t.Helper()
	db := sqltest.Open(t)
	t.Cleanup(func() { _ = db.Close() })
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	b := broker.New(broker.Options{Store: db, Keyring: kr, Logger: log, PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := b.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// A fresh instance logs a setup code (and the page to enter it in),
// writes it to a file only its user can read, and requires it; the file
// goes once the owner exists. One with an account logs none, closes the
// gate and removes a stale file.
func TestFirstRunCode(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	b := firstRunBroker(t, log)
	dir := t.TempDir()
	cfg := config.Server{DataDir: dir, BaseURL: "http://vault.test:14321"}
	fr, err := armFirstRun(ctx, b, cfg, "127.0.0.1:14321", log)
	if err != nil || len(fr.code) != 23 {
		t.Fatalf("fresh instance: code %q, err %v", fr.code, err)
	}
	if !strings.Contains(out.String(), "setup_code="+fr.code) || !strings.Contains(out.String(), "http://vault.test:14321/setup") {
		t.Errorf("the log lacks the code or the page:\n%s", out.String())
	}
	if m := mode(t, config.SetupCodePath(dir)); m != 0o600 {
		t.Errorf("the setup code file has mode %o, want 600", m)
	}
	if code, ok := config.SetupCodeFor(dir, "http://127.0.0.1:14321"); !ok || code != fr.code {
		t.Errorf("the CLI reads %q, %v from the file", code, ok)
	}
	first := fr.code
	if again, _ := armFirstRun(ctx, b, cfg, "127.0.0.1:14321", log); again.code == first {
		t.Error("two starts printed the same code")
	}
	if _, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: first}); errs.KindOf(err) != errs.KindUnauthorized {
		t.Errorf("the first start's code after a restart: %v, want it refused", err)
	}
	code, _ := config.SetupCodeFor(dir, "http://127.0.0.1:14321")
	if _, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: code}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(config.SetupCodePath(dir)); !os.IsNotExist(err) {
		t.Errorf("the setup code file outlived the owner's creation: %v", err)
	}
	// A stale file from a server that died is removed at the next start.
	if err := config.WriteSetupCode(dir, config.SetupCodeFile{Code: "STALE-STALE-STALE-STALE", Listen: "127.0.0.1:14321"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if fr, err := armFirstRun(ctx, b, cfg, "127.0.0.1:14321", log); err != nil || fr.code != "" || strings.Contains(out.String(), "setup_code=") {
		t.Errorf("with an account: code %q, err %v, log %q", fr.code, err, out.String())
	}
	if _, err := os.Stat(config.SetupCodePath(dir)); !os.IsNotExist(err) {
		t.Errorf("a stale setup code file was kept: %v", err)
	}
	if b.FirstRunOpen() {
		t.Error("the gate is open on an instance with accounts")
	}
}

// The operator may choose the code (containers, Helm): it is required,
// never printed, and a short one stops the server.
func TestFirstRunPresetCode(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	b := firstRunBroker(t, log)
	cfg := config.Server{DataDir: t.TempDir(), BaseURL: "http://vault.test:14321", SetupCode: "short-code"}
	if _, err := armFirstRun(ctx, b, cfg, "127.0.0.1:14321", log); err == nil || !strings.Contains(err.Error(), config.EnvSetupCode) || strings.Contains(err.Error(), "short-code") {
		t.Fatalf("a short preset code: %v", err)
	}
	cfg.SetupCode = "correct-horse-battery-staple"
	fr, err := armFirstRun(ctx, b, cfg, "127.0.0.1:14321", log)
	if err != nil || fr.code != cfg.SetupCode {
		t.Fatalf("preset: %q, %v", fr.code, err)
	}
	if strings.Contains(out.String(), cfg.SetupCode) || !strings.Contains(out.String(), config.EnvSetupCode) {
		t.Errorf("the log prints the operator's code or does not name where it is:\n%s", out.String())
	}
	if _, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1"}); errs.KindOf(err) != errs.KindUnauthorized {
		t.Errorf("no code with a preset one: %v", err)
	}
	if out, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: "Correct Horse Battery Staple"}); err != nil || out.Role != "owner" {
		t.Errorf("the preset code: %+v %v", out, err)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
