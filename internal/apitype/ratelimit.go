package apitype

// RateLimitSetting is the "rate_limit" object of instance settings in the
// public protocol: a profile and per-tier overrides keyed by tier name
// (AUTH, AUTHED, PROXY, GLOBAL).
type RateLimitSetting struct {
	Profile   string                           `json:"profile"`
	Overrides map[string]RateLimitTierOverride `json:"overrides,omitempty"`
	// Locked is read-only: AGENT_VAULT_RATELIMIT_LOCK refuses changes.
	Locked bool `json:"locked,omitempty"`
}

// RateLimitTierOverride is one tier's knobs; absent knobs keep the
// profile's value. Window is a Go duration ("5m").
type RateLimitTierOverride struct {
	Rate        *float64 `json:"rate,omitempty"`
	Burst       *int     `json:"burst,omitempty"`
	Window      string   `json:"window,omitempty"`
	Max         *int     `json:"max,omitempty"`
	Concurrency *int     `json:"concurrency,omitempty"`
}
