package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

func mapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestLoadServerPrecedence(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		flags    ServerFlags
		env      map[string]string
		wantPort int
		wantDir  string
		wantBase string
		wantLvl  slog.Level
		wantErr  string // field of the error, "" for success
	}{
		{name: "defaults", env: map[string]string{EnvDataDir: dir}, wantPort: 14321, wantDir: dir, wantBase: "http://127.0.0.1:14321"},
		{name: "env port", env: map[string]string{EnvPort: "9000", EnvDataDir: dir}, wantPort: 9000, wantDir: dir, wantBase: "http://127.0.0.1:9000"},
		{name: "flag beats env", flags: ServerFlags{Port: "9100", DataDir: dir + "/f", LogLevel: "debug"}, env: map[string]string{EnvPort: "9000", EnvDataDir: dir, EnvLogLevel: "error"}, wantPort: 9100, wantDir: dir + "/f", wantBase: "http://127.0.0.1:9100", wantLvl: slog.LevelDebug},
		{name: "env log level", env: map[string]string{EnvDataDir: dir, EnvLogLevel: "WARN"}, wantPort: 14321, wantDir: dir, wantBase: "http://127.0.0.1:14321", wantLvl: slog.LevelWarn},
		{name: "external address", env: map[string]string{EnvDataDir: dir, EnvAddr: "https://vault.example.com/"}, wantPort: 14321, wantDir: dir, wantBase: "https://vault.example.com"},
		{name: "bad port", env: map[string]string{EnvPort: "http", EnvDataDir: dir}, wantErr: "port"},
		{name: "port out of range", flags: ServerFlags{Port: "70000"}, env: map[string]string{EnvDataDir: dir}, wantErr: "port"},
		{name: "bad log level", flags: ServerFlags{LogLevel: "loud"}, env: map[string]string{EnvDataDir: dir}, wantErr: "log-level"},
		{name: "bad address", flags: ServerFlags{Address: "vault.example.com"}, env: map[string]string{EnvDataDir: dir}, wantErr: "address"},
		{name: "database url not postgres", env: map[string]string{EnvDataDir: dir, EnvDatabaseURL: "mysql://u:pw@db/x"}, wantErr: "database-url"},
		{name: "database url without host", flags: ServerFlags{DatabaseURL: "postgres:///x"}, env: map[string]string{EnvDataDir: dir}, wantErr: "database-url"},
		{name: "bad pool size", env: map[string]string{EnvDataDir: dir, EnvDatabaseURL: "postgres://u:pw@db:5432/x", EnvDBMaxOpen: "lots"}, wantErr: EnvDBMaxOpen},
		{name: "pool too small", env: map[string]string{EnvDataDir: dir, EnvDatabaseURL: "postgres://u:pw@db:5432/x", EnvDBMaxOpen: "2"}, wantErr: EnvDBMaxOpen},
		{name: "bad idle size", env: map[string]string{EnvDataDir: dir, EnvDatabaseURL: "postgres://u:pw@db:5432/x", EnvDBMaxIdle: "0"}, wantErr: EnvDBMaxIdle},
		{name: "bad lifetime", env: map[string]string{EnvDataDir: dir, EnvDatabaseURL: "postgres://u:pw@db:5432/x", EnvDBConnLifetime: "1"}, wantErr: EnvDBConnLifetime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadServer(c.flags, mapEnv(c.env))
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("want error on %s, got %+v", c.wantErr, got)
				}
				if e, ok := errs.As(err); !ok || e.Field != c.wantErr {
					t.Fatalf("error %v names field %q, want %q", err, e.Field, c.wantErr)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Fatalf("error quotes the database URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Port != c.wantPort || got.DataDir != c.wantDir || got.BaseURL != c.wantBase || got.LogLevel != c.wantLvl {
				t.Fatalf("got %+v", got)
			}
			if got.DatabasePath() != filepath.Join(c.wantDir, "agent-vault.db") {
				t.Errorf("db path %s", got.DatabasePath())
			}
		})
	}
}

func TestResolveVaultOrder(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	proj := filepath.Join(root, "proj")
	deep := filepath.Join(proj, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(root, "elsewhere")
	_ = os.MkdirAll(elsewhere, 0o755)

	check := func(name, flag string, env map[string]string, cwd string, want string, src VaultSource) {
		t.Helper()
		got, err := ResolveVault(flag, mapEnv(env), cwd, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Name != want || got.Source != src {
			t.Fatalf("%s: got %+v, want %s from %s", name, got, want, src)
		}
	}
	check("nothing", "", nil, elsewhere, "default", FromDefault)
	if err := UseVault(data, "ctx-vault"); err != nil {
		t.Fatal(err)
	}
	check("context", "", nil, elsewhere, "ctx-vault", FromContext)
	if _, err := WriteProjectFile(proj, "proj-vault"); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteProjectFile(proj, "again"); err == nil {
		t.Fatal("WriteProjectFile overwrote an existing file")
	}
	check("project file in a parent", "", nil, deep, "proj-vault", FromProject)
	check("context outside the project", "", nil, elsewhere, "ctx-vault", FromContext)
	check("env beats project", "", map[string]string{EnvVault: "env-vault"}, deep, "env-vault", FromEnv)
	check("flag beats env", "flag-vault", map[string]string{EnvVault: "env-vault"}, deep, "flag-vault", FromFlag)

	bad := filepath.Join(root, "bad")
	_ = os.MkdirAll(bad, 0o755)
	_ = os.WriteFile(filepath.Join(bad, ProjectFile), []byte(`{"vault": 3}`), 0o644)
	if _, err := ResolveVault("", mapEnv(nil), bad, data); err == nil {
		t.Fatal("a malformed agent-vault.json was accepted")
	}
}

func TestSessionFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := ReadSession(dir); err != ErrNoSession {
		t.Fatalf("missing session: %v", err)
	}
	if err := WriteSession(dir, CLISession{Token: "av_sess_x", Address: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "session.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode = %v, want 0700", di.Mode())
	}
	s, err := ReadSession(dir)
	if err != nil || s.Token != "av_sess_x" {
		t.Fatalf("read back %+v, %v", s, err)
	}
	// The client uses the address it logged in to when none is given.
	c, err := LoadClient(ClientFlags{DataDir: dir}, mapEnv(nil))
	if err != nil || c.Address != "http://127.0.0.1:1" {
		t.Fatalf("client config = %+v, %v", c, err)
	}
	c, _ = LoadClient(ClientFlags{DataDir: dir, Address: "127.0.0.1:2"}, mapEnv(nil))
	if c.Address != "http://127.0.0.1:2" {
		t.Fatalf("flag address = %q", c.Address)
	}
	if err := RemoveSession(dir); err != nil {
		t.Fatal(err)
	}
	if err := RemoveSession(dir); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestEnsureDirTightensMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode = %v, want 0700", fi.Mode())
	}
}

// FuzzProjectFile: any agent-vault.json content either resolves to a
// non-empty trimmed vault name or fails with an error; it never panics.
func FuzzProjectFile(f *testing.F) {
	for _, s := range []string{`{"vault":"x"}`, `{}`, `{"vault":""}`, `[`, `{"vault":"a","x":1}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ProjectFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		p, v, err := findProjectFile(dir)
		if err != nil {
			return
		}
		if p == "" || v == "" || v != strings.TrimSpace(v) {
			t.Fatalf("content %q resolved to %q from %q", content, v, p)
		}
	})
}

func TestLoadDatabase(t *testing.T) {
	dir := t.TempDir()
	d, err := LoadDatabase("", dir, mapEnv(nil))
	if err != nil || d.Postgres() || d.Path != filepath.Join(dir, "agent-vault.db") || d.String() != d.Path {
		t.Fatalf("default = %+v, %v", d, err)
	}
	env := mapEnv(map[string]string{EnvDatabaseURL: "postgres://env:pw@envhost/db", EnvDBMaxOpen: "40", EnvDBMaxIdle: "5", EnvDBConnLifetime: "5m"})
	d, err = LoadDatabase("postgresql://flag:s3cret@db.internal:6543/vault?sslmode=require", dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Postgres() || !strings.HasPrefix(d.URL, "postgresql://flag:") || d.MaxOpenConns != 40 || d.MaxIdleConns != 5 || d.ConnMaxLifetime != 5*time.Minute {
		t.Errorf("flag and pool settings = %+v", d)
	}
	if s := d.String(); s != "PostgreSQL at db.internal:6543/vault" || strings.Contains(s, "s3cret") {
		t.Errorf("String() = %q", s)
	}
}

func TestLoadSMTP(t *testing.T) {
	base := map[string]string{EnvSMTPHost: "smtp.example.com", EnvSMTPFrom: "vault@example.com"}
	with := func(kv ...string) Env {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return mapEnv(m)
	}
	for _, c := range []struct {
		name    string
		env     Env
		want    SMTP
		wantErr string
	}{
		{"off", mapEnv(nil), SMTP{}, ""},
		{"defaults", with(), SMTP{Host: "smtp.example.com", From: "vault@example.com", TLSMode: "starttls"}, ""},
		{"everything", with(EnvSMTPPort, "465", EnvSMTPTLSMode, "TLS", EnvSMTPUsername, "u", EnvSMTPPassword, "p@ss", EnvSMTPFromName, "Agent Vault", EnvSMTPSkipVerify, "true"),
			SMTP{Host: "smtp.example.com", Port: 465, Username: "u", Password: "p@ss", From: "vault@example.com", FromName: "Agent Vault", TLSMode: "tls", SkipVerify: true}, ""},
		{"password without host", mapEnv(map[string]string{EnvSMTPPassword: "secret-pw"}), SMTP{}, EnvSMTPHost},
		{"bad port", with(EnvSMTPPort, "smtp"), SMTP{}, EnvSMTPPort},
		{"port out of range", with(EnvSMTPPort, "0"), SMTP{}, EnvSMTPPort},
		{"bad mode", with(EnvSMTPTLSMode, "ssl"), SMTP{}, EnvSMTPTLSMode},
		{"from with a name", with(EnvSMTPFrom, "Vault <vault@example.com>"), SMTP{}, EnvSMTPFrom},
		{"no from", with(EnvSMTPFrom, ""), SMTP{}, EnvSMTPFrom},
		{"name on two lines", with(EnvSMTPFromName, "A\r\nBcc: x@evil.test"), SMTP{}, EnvSMTPFromName},
		{"bad skip verify", with(EnvSMTPSkipVerify, "maybe"), SMTP{}, EnvSMTPSkipVerify},
	} {
		got, err := LoadSMTP(c.env)
		if c.wantErr != "" {
			e, ok := errs.As(err)
			if !ok || e.Field != c.wantErr || strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("%s: err %v, want one naming %s", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}
