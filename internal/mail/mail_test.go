package mail

import (
	"strings"
	"testing"
	"time"
)

const testPassword = "s3cret-Passw0rd"

// validConfig is a Config that New accepts, for cases to spoil.
func validConfig() Config {
	return Config{
		Host:     "smtp.example.com",
		Username: "vault",
		Password: testPassword,
		From:     "vault@example.com",
		FromName: "Agent Vault",
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // a substring of the error; "" means New succeeds
	}{
		{"valid", func(c *Config) {}, ""},
		{"implicit TLS", func(c *Config) { c.TLSMode = TLSImplicit }, ""},
		{"IPv6 host", func(c *Config) { c.Host = "2001:db8::25" }, ""},
		{"no auth", func(c *Config) { c.Username, c.Password = "", "" }, ""},
		{"none to localhost with auth", func(c *Config) { c.TLSMode, c.Host = TLSNone, "localhost" }, ""},
		{"none without auth", func(c *Config) { c.TLSMode, c.Username, c.Password = TLSNone, "", "" }, ""},
		{"non-ASCII from name", func(c *Config) { c.FromName = "Coffre-fort des agents — Zoë" }, ""},

		{"missing host", func(c *Config) { c.Host = "" }, "AGENT_VAULT_SMTP_HOST is required"},
		{"host with port", func(c *Config) { c.Host = "smtp.example.com:587" }, "AGENT_VAULT_SMTP_HOST must be a bare host name"},
		{"host as URL", func(c *Config) { c.Host = "smtp://smtp.example.com" }, "AGENT_VAULT_SMTP_HOST must be a bare host name"},
		{"host with newline", func(c *Config) { c.Host = "smtp.example.com\r\n" }, "AGENT_VAULT_SMTP_HOST"},
		{"port negative", func(c *Config) { c.Port = -1 }, "AGENT_VAULT_SMTP_PORT must be a port number from 1 to 65535"},
		{"port too large", func(c *Config) { c.Port = 65536 }, "AGENT_VAULT_SMTP_PORT"},
		{"unknown TLS mode", func(c *Config) { c.TLSMode = "ssl" }, `AGENT_VAULT_SMTP_TLS_MODE must be starttls, tls or none, not "ssl"`},
		{"TLS mode in capitals", func(c *Config) { c.TLSMode = "STARTTLS" }, "AGENT_VAULT_SMTP_TLS_MODE"},
		{"missing from", func(c *Config) { c.From = "" }, "AGENT_VAULT_SMTP_FROM is required"},
		{"from not an address", func(c *Config) { c.From = "vault" }, "AGENT_VAULT_SMTP_FROM must be an email address like vault@example.com"},
		{"from with display name", func(c *Config) { c.From = "Agent Vault <vault@example.com>" }, "AGENT_VAULT_SMTP_FROM_NAME"},
		{"from with two addresses", func(c *Config) { c.From = "vault@example.com, x@example.com" }, "AGENT_VAULT_SMTP_FROM must be"},
		{"from with header injection", func(c *Config) { c.From = "vault@example.com\r\nBcc: x@example.com" }, "AGENT_VAULT_SMTP_FROM must be"},
		{"from name with CRLF", func(c *Config) { c.FromName = "Agent Vault\r\nBcc: x@example.com" }, "AGENT_VAULT_SMTP_FROM_NAME must be one line"},
		{"from name with LF", func(c *Config) { c.FromName = "Agent\nVault" }, "AGENT_VAULT_SMTP_FROM_NAME must be one line"},
		{"password without username", func(c *Config) { c.Username = "" }, "AGENT_VAULT_SMTP_USERNAME is not"},
		{"username with newline", func(c *Config) { c.Username = "vault\r\nMAIL FROM:<x@example.com>" }, "AGENT_VAULT_SMTP_USERNAME must be one line"},
		{"none sends password in clear", func(c *Config) { c.TLSMode = TLSNone }, "AGENT_VAULT_SMTP_TLS_MODE=none would send the SMTP password in clear"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			m, err := New(c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if m == nil {
					t.Fatal("New returned a nil Mailer and no error")
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted the config; want an error with %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(c *Config) {}, "smtp.example.com:587 (starttls) as vault@example.com"},
		{"implicit TLS defaults to 465", func(c *Config) { c.TLSMode = TLSImplicit }, "smtp.example.com:465 (tls) as vault@example.com"},
		{"explicit port", func(c *Config) { c.Port = 2525 }, "smtp.example.com:2525 (starttls) as vault@example.com"},
		{"none", func(c *Config) { c.TLSMode, c.Host = TLSNone, "127.0.0.1" }, "127.0.0.1:587 (none) as vault@example.com"},
		{"IPv6", func(c *Config) { c.Host = "::1" }, "[::1]:587 (starttls) as vault@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			m, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			got := m.Describe()
			if got != tt.want {
				t.Errorf("Describe() = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, testPassword) {
				t.Errorf("Describe() %q contains the password", got)
			}
		})
	}
}
