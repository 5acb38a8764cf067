package config

import (
	"os"
	"strings"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// Rate limit environment variables.
const (
	EnvRateLimitProfile = "AGENT_VAULT_RATELIMIT_PROFILE"
	EnvRateLimitLock    = "AGENT_VAULT_RATELIMIT_LOCK"
	EnvTrustedProxies   = "AGENT_VAULT_TRUSTED_PROXIES"
)

// RateLimits is the rate limiter's configuration.
type RateLimits struct {
	Options ratelimit.Options
	// TrustedProxies may set X-Forwarded-For for the client IP.
	TrustedProxies string
}

// LoadRateLimits reads the profile, the per-tier overrides
// (AGENT_VAULT_RATELIMIT_<TIER>_<KNOB>), the lock and the trusted proxies.
func LoadRateLimits(environ []string) (RateLimits, error) {
	if environ == nil {
		environ = os.Environ()
	}
	vars := map[string]string{}
	overrides := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		if strings.HasPrefix(k, ratelimit.EnvPrefix) && k != EnvRateLimitProfile && k != EnvRateLimitLock {
			overrides[k] = v
		}
	}
	var out RateLimits
	p, err := ratelimit.ParseProfile(vars[EnvRateLimitProfile])
	if err != nil {
		return out, errs.Invalid(EnvRateLimitProfile, "%s: %v", EnvRateLimitProfile, err)
	}
	lim, err := ratelimit.ParseOverrides(overrides)
	if err != nil {
		return out, errs.Invalid("AGENT_VAULT_RATELIMIT", "%v", err)
	}
	switch strings.ToLower(strings.TrimSpace(vars[EnvRateLimitLock])) {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		out.Options.Locked = true
	default:
		return out, errs.Invalid(EnvRateLimitLock, "%s must be true or false", EnvRateLimitLock)
	}
	if _, err := ratelimit.ParseTrustedProxies(vars[EnvTrustedProxies]); err != nil {
		return out, errs.Invalid(EnvTrustedProxies, "%s: %v", EnvTrustedProxies, err)
	}
	out.Options.Profile, out.Options.Limits = p, lim
	out.TrustedProxies = vars[EnvTrustedProxies]
	return out, nil
}
