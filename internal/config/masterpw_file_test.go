package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMasterPasswordFile(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, CredentialName), []byte("from-systemd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	cases := []struct {
		name     string
		env      map[string]string
		wantPath string
		wantOK   bool
	}{
		{"nothing", nil, "", false},
		{"explicit file", map[string]string{EnvMasterPasswordFile: "/run/secrets/pw"}, "/run/secrets/pw", true},
		{"explicit file wins over the credential", map[string]string{EnvMasterPasswordFile: "/x", "CREDENTIALS_DIRECTORY": creds}, "/x", true},
		{"systemd credential", map[string]string{"CREDENTIALS_DIRECTORY": creds}, filepath.Join(creds, CredentialName), true},
		{"credentials directory without ours", map[string]string{"CREDENTIALS_DIRECTORY": empty}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := MasterPasswordFile(func(k string) string { return c.env[k] })
			if p != c.wantPath || ok != c.wantOK {
				t.Fatalf("MasterPasswordFile = %q, %v; want %q, %v", p, ok, c.wantPath, c.wantOK)
			}
		})
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ name, content, want string }{
		{"plain", "hunter2-secret", "hunter2-secret"},
		{"newline", "hunter2-secret\n", "hunter2-secret"},
		{"crlf", "hunter2-secret\r\n", "hunter2-secret"},
		{"only the first line", "hunter2-secret\nsecond line\n", "hunter2-secret"},
		{"inner spaces kept", " pass phrase ", " pass phrase "},
	} {
		got, err := ReadPasswordFile(write(c.name, c.content))
		if err != nil || string(got) != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct{ name, content, wantErr string }{
		{"empty", "", "is empty"},
		{"empty first line", "\nhunter2-secret\n", "is empty"},
		{"too long", strings.Repeat("x", 5000) + "hunter2-secret", "longer than"},
	} {
		_, err := ReadPasswordFile(write(c.name, c.content))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error quotes the file's content: %v", c.name, err)
		}
	}
	if _, err := ReadPasswordFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), EnvMasterPasswordFile) {
		t.Errorf("missing file: err = %v, want one naming %s", err, EnvMasterPasswordFile)
	}
}
