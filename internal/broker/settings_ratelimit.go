package broker

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// The public protocol's "rate_limit" settings object names tiers as its
// environment variables do; AUTHED is our API tier. Its VERIFY_FAIL tier
// has no counterpart here: wrong emailed codes are capped per code (see
// docs/compatibility.md), so an override of it is refused, not ignored.
var rateLimitTiers = map[string]ratelimit.Tier{"AUTH": ratelimit.TierAuth, "AUTHED": ratelimit.TierAPI, "API": ratelimit.TierAPI, "PROXY": ratelimit.TierProxy, "GLOBAL": ratelimit.TierGlobal}

// fromRateLimitSetting turns the public "rate_limit" object into our
// profile and overrides.
func fromRateLimitSetting(in apitype.RateLimitSetting) (string, ratelimit.Overrides, error) {
	profile := strings.ToLower(strings.TrimSpace(in.Profile))
	if profile == "" {
		profile = "default"
	}
	if !rateLimitProfiles[profile] {
		return "", nil, errs.Invalid("rate_limit.profile", "rate_limit.profile must be default, strict, loose or off, not %q", in.Profile)
	}
	out := ratelimit.Overrides{}
	for _, name := range slices.Sorted(maps.Keys(in.Overrides)) {
		ov := in.Overrides[name]
		field := "rate_limit.overrides." + name
		tier, ok := rateLimitTiers[strings.ToUpper(name)]
		if !ok {
			return "", nil, errs.Invalid(field, "unknown rate-limit tier %q: use AUTH, AUTHED, PROXY or GLOBAL (emailed codes have a fixed per-code budget of wrong tries, not a tier)", name)
		}
		var bad error
		set := func(knob ratelimit.Knob, v string) {
			if bad != nil {
				return
			}
			f := field + "." + strings.ToLower(string(knob))
			k, err := ratelimit.NewOverrideKey(tier, knob)
			if err == nil {
				err = k.CheckValue(v)
			}
			if err != nil {
				bad = errs.Invalid(f, "%s = %s: %v", f, v, err)
				return
			}
			if prev, dup := out[k]; dup && prev != v { // AUTHED and API name one tier
				bad = errs.Invalid(f, "%s = %s: the tier is set twice (AUTHED and API name the same tier)", f, v)
				return
			}
			out[k] = v
		}
		if ov.Rate != nil {
			set(ratelimit.KnobRate, strconv.FormatFloat(*ov.Rate, 'f', -1, 64))
		}
		if ov.Burst != nil {
			set(ratelimit.KnobBurst, strconv.Itoa(*ov.Burst))
		}
		if ov.Window != "" {
			set(ratelimit.KnobWindow, ov.Window)
		}
		if ov.Max != nil {
			set(ratelimit.KnobMax, strconv.Itoa(*ov.Max))
		}
		if ov.Concurrency != nil {
			set(ratelimit.KnobConcurrency, strconv.Itoa(*ov.Concurrency))
		}
		if bad != nil {
			return "", nil, bad
		}
	}
	// What only the whole set can break (the two names of the global
	// ceiling disagreeing).
	if _, err := out.Limits(); err != nil {
		return "", nil, errs.Invalid("rate_limit.overrides", "%v", err)
	}
	return profile, out, nil
}

// toRateLimitSetting renders our stored rate-limit settings in the public
// protocol's form (knobs switched off show as 0).
func toRateLimitSetting(profile string, overrides ratelimit.Overrides, locked bool) *apitype.RateLimitSetting {
	if profile == "" {
		profile = "default"
	}
	out := &apitype.RateLimitSetting{Profile: profile, Locked: locked}
	parsed, err := overrides.Limits()
	if err != nil || len(parsed) == 0 {
		return out
	}
	out.Overrides = map[string]apitype.RateLimitTierOverride{}
	pos := func(n int) int { return max(n, 0) }
	for t, l := range parsed {
		name := strings.ToUpper(t.String())
		if t == ratelimit.TierAPI {
			name = "AUTHED"
		}
		var ov apitype.RateLimitTierOverride
		if l.Rate != 0 {
			r := max(l.Rate, 0)
			ov.Rate = &r
		}
		if l.Burst != 0 {
			n := pos(l.Burst)
			ov.Burst = &n
		}
		if l.Window > 0 {
			ov.Window = l.Window.String()
		} else if l.Window < 0 {
			ov.Window = "0s"
		}
		if l.Max != 0 {
			n := pos(l.Max)
			ov.Max = &n
		}
		if l.Concurrency != 0 {
			n := pos(l.Concurrency)
			ov.Concurrency = &n
		}
		out.Overrides[name] = ov
	}
	return out
}
