package config

import (
	"os"
	"strings"
)

// Agent-side environment variables (docs/protocol.md, "Connection details").
const (
	EnvToken = "AGENT_VAULT_TOKEN"
)

// AgentEnv is what an agent process was given: a token and the server's
// address (both set means `run` works in agent mode), and maybe a vault.
type AgentEnv struct {
	Token, Addr, Vault string
}

// LoadAgentEnv reads the agent-side variables.
func LoadAgentEnv(env Env) AgentEnv {
	if env == nil {
		env = os.Getenv
	}
	return AgentEnv{Token: strings.TrimSpace(env(EnvToken)), Addr: strings.TrimSpace(env(EnvAddr)), Vault: strings.TrimSpace(env(EnvVault))}
}

// ParentNoProxy is the NO_PROXY list the parent process already has.
func ParentNoProxy(env Env) []string {
	if env == nil {
		env = os.Getenv
	}
	var out []string
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		for _, p := range strings.Split(env(k), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// systemBundles are where Debian, Alpine, Fedora and macOS keep the roots.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// SystemRootsPEM returns the system's root certificates as PEM, honouring
// SSL_CERT_FILE of the parent, or nil when none is found.
func SystemRootsPEM(env Env) []byte {
	if env == nil {
		env = os.Getenv
	}
	paths := systemBundles
	if f := env("SSL_CERT_FILE"); f != "" {
		paths = append([]string{f}, paths...)
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}

// CAVars are the variables through which clients learn extra CAs, in the
// order doctor checks them.
var CAVars = []string{"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO"}

// CAFiles returns the CA variables that are set, as name → path, in order.
func CAFiles(env Env) [][2]string {
	if env == nil {
		env = os.Getenv
	}
	var out [][2]string
	for _, k := range CAVars {
		if v := env(k); v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}
