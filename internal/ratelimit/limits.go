package ratelimit

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// Tier names one budget (docs/security-model.md, "Rate limits").
type Tier uint8

// The tiers. TierGlobal is not keyed: it is the ceiling on requests in
// flight across the instance, and appears in override maps (its
// Limits.Concurrency) and in Stats.
const (
	// TierAuth covers anonymous and authentication endpoints, keyed by
	// client IP (see ClientIP and IPKey).
	TierAuth Tier = iota + 1
	// TierAPI covers authenticated control-plane calls, keyed by session
	// or actor.
	TierAPI
	// TierProxy covers proxied requests and tunnels, keyed by
	// (actor, vault) (see Key).
	TierProxy
	// TierGlobal is the instance-wide in-flight ceiling.
	TierGlobal

	numTiers = int(TierGlobal) + 1
)

// keyedTiers are the tiers with per-key state, in display order.
var keyedTiers = [...]Tier{TierAuth, TierAPI, TierProxy}

// String returns the tier's lower-case name ("auth", "api", "proxy",
// "global"), suitable as a metrics label.
func (t Tier) String() string {
	switch t {
	case TierAuth:
		return "auth"
	case TierAPI:
		return "api"
	case TierProxy:
		return "proxy"
	case TierGlobal:
		return "global"
	}
	return fmt.Sprintf("tier(%d)", uint8(t))
}

func (t Tier) keyed() bool { return t >= TierAuth && t <= TierProxy }

// Limits is the budget of one tier, per key. In effective limits a knob
// that is zero or negative is off. In an overrides map (see Merge) zero
// means "not overridden" and a negative value switches the knob off.
type Limits struct {
	// Rate is the sustained number of requests per second Allow lets
	// through per key.
	Rate float64
	// Burst is how many requests Allow lets through at once from a key
	// whose budget has recovered. With a positive Rate, a Burst ≤ 0 means
	// one second's worth of Rate (at least 1).
	Burst int
	// Window and Max form the failure budget: at most Max failures
	// (Fail, Attempt) per Window per key, recovering one failure every
	// Window/Max. Off unless both are positive.
	Window time.Duration
	// Max is the number of failures allowed per Window.
	Max int
	// Concurrency caps the requests a key may hold at once (Acquire).
	Concurrency int
}

// GlobalLimit is the maximum number of requests in flight across the
// instance (AcquireGlobal); zero or negative means no ceiling.
type GlobalLimit int

// Profile is a named set of default limits, chosen with
// AGENT_VAULT_RATELIMIT_PROFILE.
type Profile string

// The profiles. ProfileOff disables every limit, overrides included.
const (
	ProfileDefault Profile = "default"
	ProfileStrict  Profile = "strict"
	ProfileLoose   Profile = "loose"
	ProfileOff     Profile = "off"
)

// ParseProfile parses a profile name, case-insensitively; the empty string
// is ProfileDefault.
func ParseProfile(s string) (Profile, error) {
	p := Profile(strings.ToLower(strings.TrimSpace(s)))
	if p == "" {
		return ProfileDefault, nil
	}
	if !p.valid() {
		return "", fmt.Errorf("ratelimit: unknown profile %q (want default, strict, loose or off)", s)
	}
	return p, nil
}

func (p Profile) valid() bool {
	switch p {
	case ProfileDefault, ProfileStrict, ProfileLoose, ProfileOff:
		return true
	}
	return false
}

// profiles holds the limits of every profile but off. Default is sized so
// that one agent driving 64 concurrent streams through the proxy is never
// limited.
var profiles = map[Profile]struct {
	tiers  map[Tier]Limits
	global GlobalLimit
}{
	ProfileDefault: {
		tiers: map[Tier]Limits{
			TierAuth:  {Rate: 5, Burst: 20, Max: 10, Window: time.Minute},
			TierAPI:   {Rate: 20, Burst: 60},
			TierProxy: {Rate: 100, Burst: 200, Concurrency: 128},
		},
		global: 1024,
	},
	ProfileStrict: {
		tiers: map[Tier]Limits{
			TierAuth:  {Rate: 1, Burst: 5, Max: 5, Window: 5 * time.Minute},
			TierAPI:   {Rate: 5, Burst: 20},
			TierProxy: {Rate: 20, Burst: 40, Concurrency: 16},
		},
		global: 256,
	},
	ProfileLoose: {
		tiers: map[Tier]Limits{
			TierAuth:  {Rate: 20, Burst: 100, Max: 50, Window: time.Minute},
			TierAPI:   {Rate: 100, Burst: 300},
			TierProxy: {Rate: 1000, Burst: 2000, Concurrency: 512},
		},
		global: 4096,
	},
}

// ProfileLimits returns the per-tier limits and the global in-flight
// ceiling of a profile: a fresh map of TierAuth, TierAPI and TierProxy the
// caller may modify. ProfileOff returns zero limits (everything off); an
// unknown profile returns the default one.
func ProfileLimits(p Profile) (map[Tier]Limits, GlobalLimit) {
	if p == ProfileOff {
		return map[Tier]Limits{TierAuth: {}, TierAPI: {}, TierProxy: {}}, 0
	}
	d, ok := profiles[p]
	if !ok {
		d = profiles[ProfileDefault]
	}
	return maps.Clone(d.tiers), d.global
}

// Merge returns a new map holding base with overrides applied knob by knob:
// every non-zero field of an override replaces the base field (a negative
// value switches the knob off); zero fields keep the base. Neither argument
// is modified.
func Merge(base, overrides map[Tier]Limits) map[Tier]Limits {
	out := make(map[Tier]Limits, len(base)+len(overrides))
	maps.Copy(out, base)
	for t, o := range overrides {
		b := out[t]
		if o.Rate != 0 {
			b.Rate = o.Rate
		}
		if o.Burst != 0 {
			b.Burst = o.Burst
		}
		if o.Window != 0 {
			b.Window = o.Window
		}
		if o.Max != 0 {
			b.Max = o.Max
		}
		if o.Concurrency != 0 {
			b.Concurrency = o.Concurrency
		}
		out[t] = b
	}
	return out
}
