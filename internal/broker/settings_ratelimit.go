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
var rateLimitTierNames = map[string]string{"AUTH": "AUTH", "AUTHED": "API", "API": "API", "PROXY": "PROXY", "GLOBAL": "GLOBAL"}

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
	out := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(in.Overrides)) {
		ov := in.Overrides[name]
		field := "rate_limit.overrides." + name
		tier, ok := rateLimitTierNames[strings.ToUpper(name)]
		if !ok {
			return "", nil, errs.Invalid(field, "unknown rate-limit tier %q: use AUTH, AUTHED, PROXY or GLOBAL (emailed codes have a fixed per-code budget of wrong tries, not a tier)", name)
		}
		var bad error
		set := func(knob, v string) {
			if bad != nil {
				return
			}
			k := tier + "_" + knob
			if _, err := ratelimit.ParseOverrideMap(map[string]string{k: v}); err != nil {
				msg := err.Error()
				if i := strings.Index(msg, "\": "); i >= 0 {
					msg = msg[i+3:]
				}
				f := field + "." + strings.ToLower(knob)
				bad = errs.Invalid(f, "%s = %s: %s", f, v, msg)
				return
			}
			out[k] = v
		}
		if ov.Rate != nil {
			set("RATE", strconv.FormatFloat(*ov.Rate, 'f', -1, 64))
		}
		if ov.Burst != nil {
			set("BURST", strconv.Itoa(*ov.Burst))
		}
		if ov.Window != "" {
			set("WINDOW", ov.Window)
		}
		if ov.Max != nil {
			set("MAX", strconv.Itoa(*ov.Max))
		}
		if ov.Concurrency != nil {
			set("CONCURRENCY", strconv.Itoa(*ov.Concurrency))
		}
		if bad != nil {
			return "", nil, bad
		}
	}
	o, err := ratelimit.ParseOverrideMap(out)
	if err != nil {
		return "", nil, errs.Invalid("rate_limit.overrides", "%v", err)
	}
	return profile, o, nil
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
