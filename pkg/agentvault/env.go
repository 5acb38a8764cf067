package agentvault

import (
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DefaultProxyPort is the broker proxy's default port.
const DefaultProxyPort = 14322

// caBundleVars are pointed at the CA bundle (the broker's root CA plus the
// system roots): clients read them as the whole trust store.
var caBundleVars = []string{"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "DENO_CERT"}

// caOnlyVars are pointed at the broker's root CA alone: clients add it to
// the system roots.
var caOnlyVars = []string{"NODE_EXTRA_CA_CERTS"}

// defaultNoProxy are never sent through the proxy.
var defaultNoProxy = []string{"localhost", "127.0.0.1"}

// ProxyEnvOptions are the inputs of [ProxyEnv].
type ProxyEnvOptions struct {
	// Addr is the control plane's base URL as the agent reaches it
	// (AGENT_VAULT_ADDR).
	Addr string
	// Token is the agent's bearer token (AGENT_VAULT_TOKEN).
	Token string
	// Vault is the vault (AGENT_VAULT_VAULT). With an agent token it also
	// goes into the proxy URL; left out of both when empty.
	Vault string
	// Scoped says that Token is a vault-scoped session, which carries its
	// vault: the proxy URL then holds the token alone.
	Scoped bool
	// ProxyHost is the broker proxy's host as the agent reaches it; empty
	// means Addr's host.
	ProxyHost string
	// ProxyPort is the broker proxy's port ([ServerStatus].ProxyPort);
	// zero means [DefaultProxyPort].
	ProxyPort int
	// CAFile is a PEM file holding the broker's root CA, for the variable
	// that adds to the system roots (NODE_EXTRA_CA_CERTS).
	CAFile string
	// CABundleFile is a PEM file holding the broker's root CA and the
	// system roots, for the variables that replace the system roots
	// (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO,
	// DENO_CERT). When only one of CAFile and CABundleFile is set,
	// it serves for both; when neither is, no CA variable is set.
	CABundleFile string
	// ParentNoProxy is the NO_PROXY list the agent would otherwise have;
	// it is merged after localhost and 127.0.0.1, without duplicates.
	ParentNoProxy []string
}

// ProxyEnv returns the variables `agent-vault run` sets on its child
// (docs/agents.md, "The child's environment"), so an orchestrator can give the same to an agent it starts
// elsewhere: AGENT_VAULT_ADDR, AGENT_VAULT_TOKEN, AGENT_VAULT_VAULT,
// HTTPS_PROXY and HTTP_PROXY (http://token@host:port for a scoped session,
// http://token:vault@host:port for an agent token), NO_PROXY, their
// lower-case twins https_proxy, http_proxy and no_proxy,
// OPENCLAW_PROXY_URL (the proxy URL again), NODE_USE_ENV_PROXY=1, and the
// CA variables SSL_CERT_FILE,
// REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO and DENO_CERT (the
// bundle) and NODE_EXTRA_CA_CERTS (the CA alone).
// It is a pure function: it reads no environment and writes no file. Lay
// the result over a parent environment with [MergeEnviron].
func ProxyEnv(o ProxyEnvOptions) map[string]string {
	host := o.ProxyHost
	if host == "" {
		if u, err := url.Parse(o.Addr); err == nil {
			host = u.Hostname()
		}
	}
	port := o.ProxyPort
	if port == 0 {
		port = DefaultProxyPort
	}
	proxy := &url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(port))}
	// Always token:vault (token: with no vault), even for a vault session
	// that carries its own vault: clients such as Python requests and git
	// send no Proxy-Authorization at all for user info without a password.
	// The proxy accepts a session's own vault as the hint.
	proxy.User = url.UserPassword(o.Token, o.Vault)
	env := map[string]string{
		EnvAddr:              o.Addr,
		EnvToken:             o.Token,
		"HTTPS_PROXY":        proxy.String(),
		"HTTP_PROXY":         proxy.String(),
		"NO_PROXY":           strings.Join(mergeNoProxy(defaultNoProxy, o.ParentNoProxy), ","),
		"NODE_USE_ENV_PROXY": "1",
		// OpenClaw reads its own variable besides the standard ones.
		"OPENCLAW_PROXY_URL": proxy.String(),
	}
	// Lower-case spellings too: curl reads only http_proxy for http://
	// URLs, and some clients prefer the lower-case ones when both are set.
	for _, k := range []string{"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"} {
		env[strings.ToLower(k)] = env[k]
	}
	if o.Vault != "" {
		env[EnvVault] = o.Vault
	}
	caOnly, bundle := o.CAFile, o.CABundleFile
	if caOnly == "" {
		caOnly = bundle
	}
	if bundle == "" {
		bundle = caOnly
	}
	if bundle != "" {
		for _, k := range caBundleVars {
			env[k] = bundle
		}
		for _, k := range caOnlyVars {
			env[k] = caOnly
		}
	}
	return env
}

// mergeNoProxy joins lists without duplicates (compared without case),
// keeping the first spelling and the order; blank entries are dropped.
func mergeNoProxy(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, h := range l {
			h = strings.TrimSpace(h)
			k := strings.ToLower(h)
			if h == "" || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, h)
		}
	}
	return out
}

// shadowed are the lower-case spellings some clients prefer over the
// variables ProxyEnv sets; a parent's values would override the broker.
var shadowed = []string{"https_proxy", "http_proxy", "no_proxy"}

// withheld are the Agent Vault server's own secrets, and the variables
// that name the files holding them: an operator's shell (or a service
// manager's unit) may hold them, and an agent must never see them (the
// master password unlocks every credential; the database URL holds the
// database's password, and the database the data key in passwordless
// mode). AGENT_VAULT_MASTER_PASSWORD_FILE and systemd's
// CREDENTIALS_DIRECTORY (where the server reads the credential
// master-password) name the master password's file: withheld always, not
// only where `agent-vault run`'s sandbox also hides the file, since a
// child never needs them and an agent's secrets belong in a vault.
var withheld = []string{"AGENT_VAULT_MASTER_PASSWORD", "AGENT_VAULT_MASTER_PASSWORD_FILE", "CREDENTIALS_DIRECTORY",
	"AGENT_VAULT_SMTP_PASSWORD", "DATABASE_URL"}

// MayPass reports whether a variable [MergeEnviron] withholds may still be
// handed to a child on request: DATABASE_URL only, a name many projects
// use for their own database.
func MayPass(name string) bool { return name == "DATABASE_URL" }

// MergeEnviron lays vars (as [ProxyEnv] returns them) over parent, an
// environment in os.Environ form ("KEY=value"), and returns the child's
// environment: parent without the variables vars sets, without the
// lower-case https_proxy, http_proxy and no_proxy (which some clients
// prefer over the upper-case ones) and without the server's secrets
// AGENT_VAULT_MASTER_PASSWORD, AGENT_VAULT_SMTP_PASSWORD and DATABASE_URL
// and the variables naming the master password's file,
// AGENT_VAULT_MASTER_PASSWORD_FILE and CREDENTIALS_DIRECTORY, followed by
// vars in key order.
func MergeEnviron(parent []string, vars map[string]string) []string {
	out := make([]string, 0, len(parent)+len(vars))
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := vars[k]; ours || slices.Contains(shadowed, k) || slices.Contains(withheld, k) {
			continue
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+vars[k])
	}
	return out
}
