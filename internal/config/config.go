// Package config is the only reader of environment variables and local
// files (data dir, CLI session, vault context, project file). Flags are
// parsed by the CLI and handed in here; a flag that was set wins over its
// environment variable, which wins over the default.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// Defaults.
const (
	DefaultHost = "127.0.0.1"
	DefaultPort = 14321
	// DefaultMITMPort is the broker proxy's port.
	DefaultMITMPort = 14322
	// DefaultMaxRequestBytes bounds a proxied request body (1 GiB).
	DefaultMaxRequestBytes = 1 << 30
	DataDirName            = ".agent-vault"
)

// Environment variable names.
const (
	EnvPort           = "PORT"
	EnvDataDir        = "AGENT_VAULT_DATA_DIR"
	EnvAddr           = "AGENT_VAULT_ADDR"
	EnvLogLevel       = "AGENT_VAULT_LOG_LEVEL"
	EnvMasterPassword = "AGENT_VAULT_MASTER_PASSWORD"
	EnvVault          = "AGENT_VAULT_VAULT"
	EnvDatabaseURL    = "DATABASE_URL"
	EnvMITMPort       = "AGENT_VAULT_MITM_PORT"
	EnvAllowPrivate   = "AGENT_VAULT_ALLOW_PRIVATE_RANGES"
	EnvAllowlist      = "AGENT_VAULT_NETWORK_ALLOWLIST"
	EnvMaxRequest     = "AGENT_VAULT_MAX_REQUEST_BYTES"
	EnvMaxResponse    = "AGENT_VAULT_MAX_RESPONSE_BYTES"
	EnvUpstreamCA     = "AGENT_VAULT_UPSTREAM_CA_FILE"
	EnvLogsMaxAge     = "AGENT_VAULT_LOGS_MAX_AGE_HOURS"
	EnvLogsMaxRows    = "AGENT_VAULT_LOGS_MAX_ROWS_PER_VAULT"
	EnvMetricsAddr    = "AGENT_VAULT_METRICS_ADDR"
	EnvDBMaxOpen      = "DB_MAX_OPEN_CONNS"
	EnvDBMaxIdle      = "DB_MAX_IDLE_CONNS"
	EnvDBConnLifetime = "DB_CONN_MAX_LIFETIME"
)

// Env looks up an environment variable; os.Getenv in production, a map in tests.
type Env func(string) string

// ServerFlags are the server command's flags; empty means "not set".
type ServerFlags struct {
	Host, Port, DataDir, LogLevel, Address string
	MITMPort, UpstreamCAFile               string
	MaxRequestBytes, MaxResponseBytes      string
	MetricsAddr                            string
	DatabaseURL                            string
	ProxyConns                             ProxyConnFlags
}

// Server is the validated configuration of `agent-vault server`.
type Server struct {
	Host     string
	Port     int
	DataDir  string
	LogLevel slog.Level
	BaseURL  string // external URL for links
	// BaseURLSet says BaseURL came from --address/AGENT_VAULT_ADDR; when
	// it did not and Port is 0, the daemon fills it in once it listens.
	BaseURLSet bool

	// MITMPort is the broker proxy's port; -1 disables it (--mitm-port 0).
	MITMPort int
	// AllowPrivate lifts netguard's private-range blocks (never metadata).
	AllowPrivate bool
	// NetworkAllowlist is the raw AGENT_VAULT_NETWORK_ALLOWLIST (cidr,ip,…).
	NetworkAllowlist string
	// UpstreamCAFile is a PEM bundle trusted for upstream TLS on top of
	// the system roots.
	UpstreamCAFile   string
	MaxRequestBytes  int64
	MaxResponseBytes int64 // 0: unlimited
	// ProxyConns bound the proxy listener's connections (proxyconns.go).
	ProxyConns ProxyConns

	// Request log retention.
	LogsMaxAge  time.Duration // default 168h
	LogsMaxRows int           // per vault, default 10000

	// MetricsAddr is host:port of the Prometheus listener; "" is off.
	MetricsAddr string

	// Database is where the data lives: the SQLite file in DataDir, or
	// PostgreSQL.
	Database Database

	// SMTP is where notification email goes (invites, approval links).
	SMTP SMTP

	// SetupCode is the operator's own one-time setup code for the first
	// account (AGENT_VAULT_SETUP_CODE); empty: a random one per start.
	SetupCode string
}

// Listen is the control plane's listen address.
func (s Server) Listen() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// DatabasePath is the SQLite file in the data dir (used when no
// PostgreSQL URL is set).
func (s Server) DatabasePath() string { return filepath.Join(s.DataDir, "agent-vault.db") }

// PIDPath is the detached server's pid file.
func (s Server) PIDPath() string { return PIDPath(s.DataDir) }

// LogPath is where a detached server writes its log.
func (s Server) LogPath() string { return filepath.Join(s.DataDir, "server.log") }

// PIDPath is the pid file in a data dir.
func PIDPath(dataDir string) string { return filepath.Join(dataDir, "agent-vault.pid") }

// first returns the first non-empty value.
func first(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// LoadServer builds the server configuration from flags, then env, then defaults.
func LoadServer(f ServerFlags, env Env) (Server, error) {
	if env == nil {
		env = os.Getenv
	}
	c := Server{Host: first(f.Host, DefaultHost)}
	port := first(f.Port, env(EnvPort))
	c.Port = DefaultPort
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return c, errs.Invalid("port", "port %q is not a number between 0 and 65535 (from --port or %s)", port, EnvPort)
		}
		c.Port = p
	}
	dir, err := DataDir(f.DataDir, env)
	if err != nil {
		return c, err
	}
	c.DataDir = dir
	if c.Database, err = LoadDatabase(f.DatabaseURL, dir, env); err != nil {
		return c, err
	}
	if c.SMTP, err = LoadSMTP(env); err != nil {
		return c, err
	}
	if c.LogLevel, err = ParseLogLevel(first(f.LogLevel, env(EnvLogLevel))); err != nil {
		return c, err
	}
	if err := c.loadProxy(f, env); err != nil {
		return c, err
	}
	if c.MetricsAddr = first(f.MetricsAddr, env(EnvMetricsAddr)); c.MetricsAddr != "" {
		if _, p, err := net.SplitHostPort(c.MetricsAddr); err != nil || !validPort(p) {
			return c, errs.Invalid("metrics-addr", "metrics address %q is not host:port, e.g. 127.0.0.1:9464 (from --metrics-addr or %s)", c.MetricsAddr, EnvMetricsAddr)
		}
	}
	c.SetupCode = strings.TrimSpace(env(EnvSetupCode))
	c.BaseURL = strings.TrimRight(first(f.Address, env(EnvAddr)), "/")
	c.BaseURLSet = c.BaseURL != ""
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Listen()
	} else if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return c, errs.Invalid("address", "address %q must start with http:// or https://", c.BaseURL)
	}
	return c, nil
}

// ParseLogLevel reads debug|info|warn|error (empty means info).
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errs.Invalid("log-level", "log level %q is not one of debug, info, warn, error", s)
}

// DataDir resolves the data directory: flag, then env, then ~/.agent-vault.
func DataDir(flag string, env Env) (string, error) {
	if env == nil {
		env = os.Getenv
	}
	dir := first(flag, env(EnvDataDir))
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find your home directory (%v): set --data-dir or %s", err, EnvDataDir)
		}
		dir = filepath.Join(home, DataDirName)
	}
	return filepath.Abs(dir)
}

// TakeMasterPassword returns the master password from the environment and
// removes it, so that child processes and /proc/self/environ readers of
// later code do not see it.
func TakeMasterPassword() (string, bool) {
	v, ok := os.LookupEnv(EnvMasterPassword)
	if ok {
		_ = os.Unsetenv(EnvMasterPassword)
	}
	return v, ok
}

// ClientFlags are the CLI's global flags.
type ClientFlags struct {
	Address, DataDir string
}

// Client is the CLI's configuration.
type Client struct {
	Address string // server base URL
	DataDir string
	// SetupCode is AGENT_VAULT_SETUP_CODE, sent by `auth register`.
	SetupCode string
}

// LoadClient resolves the CLI's server address and data dir. Without an
// explicit address the CLI uses the one it logged in to, then the default.
func LoadClient(f ClientFlags, env Env) (Client, error) {
	if env == nil {
		env = os.Getenv
	}
	dir, err := DataDir(f.DataDir, env)
	if err != nil {
		return Client{}, err
	}
	addr := first(f.Address, env(EnvAddr))
	if addr == "" && strings.TrimSpace(env(EnvToken)) == "" { // an agent never uses a saved login's address
		if s, err := ReadSession(dir); err == nil && s.Address != "" {
			addr = s.Address
		}
	}
	if addr == "" {
		port := first(env(EnvPort), strconv.Itoa(DefaultPort))
		addr = "http://" + net.JoinHostPort(DefaultHost, port)
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return Client{Address: strings.TrimRight(addr, "/"), DataDir: dir, SetupCode: strings.TrimSpace(env(EnvSetupCode))}, nil
}

// loadProxy reads the broker proxy's settings.
func (c *Server) loadProxy(f ServerFlags, env Env) error {
	c.MITMPort = DefaultMITMPort
	if v := first(f.MITMPort, env(EnvMITMPort)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return errs.Invalid("mitm-port", "mitm port %q is not a number between 0 (disabled) and 65535 (from --mitm-port or %s)", v, EnvMITMPort)
		}
		c.MITMPort = p
		if p == 0 {
			c.MITMPort = -1
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(env(EnvAllowPrivate))); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		c.AllowPrivate = true
	default:
		return errs.Invalid(EnvAllowPrivate, "%s must be true or false, not %q", EnvAllowPrivate, v)
	}
	c.NetworkAllowlist = env(EnvAllowlist)
	c.UpstreamCAFile = first(f.UpstreamCAFile, env(EnvUpstreamCA))
	var err error
	if c.MaxRequestBytes, err = parseBytes("max-request-bytes", first(f.MaxRequestBytes, env(EnvMaxRequest)), DefaultMaxRequestBytes); err != nil {
		return err
	}
	if c.MaxResponseBytes, err = parseBytes("max-response-bytes", first(f.MaxResponseBytes, env(EnvMaxResponse)), 0); err != nil {
		return err
	}
	if c.ProxyConns, err = loadProxyConns(f.ProxyConns, env); err != nil {
		return err
	}
	hours, err := positiveInt(EnvLogsMaxAge, env(EnvLogsMaxAge), 168)
	if err != nil {
		return err
	}
	c.LogsMaxAge = time.Duration(hours) * time.Hour
	c.LogsMaxRows, err = positiveInt(EnvLogsMaxRows, env(EnvLogsMaxRows), 10000)
	return err
}

// validPort reports a port number 0…65535.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// positiveInt reads a positive integer setting.
func positiveInt(name, s string, def int) (int, error) {
	if s = strings.TrimSpace(s); s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, errs.Invalid(name, "%s must be a positive whole number, not %q", name, s)
	}
	return n, nil
}

// parseBytes reads a byte count (plain number, or with a k/m/g suffix in
// powers of 1024).
func parseBytes(field, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult, s = 1<<10, s[:len(s)-1]
	case "m":
		mult, s = 1<<20, s[:len(s)-1]
	case "g":
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, errs.Invalid(field, "%s %q is not a byte count (e.g. 1048576, 512m, 1g)", field, s)
	}
	return n * mult, nil
}

// MITMListen is the broker proxy's listen address.
func (s Server) MITMListen() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.MITMPort)) }
