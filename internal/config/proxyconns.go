package config

import (
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// Environment variables of the proxy listener's connection limits.
const (
	EnvProxyIdleTimeout       = "AGENT_VAULT_PROXY_IDLE_TIMEOUT"
	EnvProxyBodyTimeout       = "AGENT_VAULT_PROXY_BODY_TIMEOUT"
	EnvProxyStreamIdleTimeout = "AGENT_VAULT_PROXY_STREAM_IDLE_TIMEOUT"
	EnvProxyMaxConnsPerIP     = "AGENT_VAULT_PROXY_MAX_CONNS_PER_IP"
	EnvProxyMaxConns          = "AGENT_VAULT_PROXY_MAX_CONNS"
)

// ProxyConns bound the broker proxy's connections; zero fields mean the
// proxy's defaults (see docs/proxy.md).
type ProxyConns struct {
	IdleTimeout       time.Duration // a kept-alive connection waiting for its next request
	BodyTimeout       time.Duration // a request body sending nothing
	StreamIdleTimeout time.Duration // any connection with no byte either way
	MaxConnsPerIP     int
	MaxConns          int
}

// ProxyConnFlags are the flags of the proxy's connection limits; empty
// means "not set".
type ProxyConnFlags struct {
	IdleTimeout, BodyTimeout, StreamIdleTimeout, MaxConnsPerIP, MaxConns string
}

// loadProxyConns reads the connection limits from flags, then env.
func loadProxyConns(f ProxyConnFlags, env Env) (ProxyConns, error) {
	var c ProxyConns
	for _, d := range []struct {
		flag, env, v string
		dst          *time.Duration
	}{
		{"proxy-idle-timeout", EnvProxyIdleTimeout, f.IdleTimeout, &c.IdleTimeout},
		{"proxy-body-timeout", EnvProxyBodyTimeout, f.BodyTimeout, &c.BodyTimeout},
		{"proxy-stream-idle-timeout", EnvProxyStreamIdleTimeout, f.StreamIdleTimeout, &c.StreamIdleTimeout},
	} {
		v := first(d.v, env(d.env))
		if v == "" {
			continue
		}
		t, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || t <= 0 {
			return c, errs.Invalid(d.flag, "%s %q is not a positive duration such as 90s or 15m (from --%s or %s)", d.flag, v, d.flag, d.env)
		}
		*d.dst = t
	}
	var err error
	if c.MaxConnsPerIP, err = positiveInt(EnvProxyMaxConnsPerIP, first(f.MaxConnsPerIP, env(EnvProxyMaxConnsPerIP)), 0); err != nil {
		return c, err
	}
	c.MaxConns, err = positiveInt(EnvProxyMaxConns, first(f.MaxConns, env(EnvProxyMaxConns)), 0)
	return c, err
}
