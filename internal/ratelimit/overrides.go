package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every rate-limit setting in the environment.
const EnvPrefix = "AGENT_VAULT_RATELIMIT_"

// ParseOverrides reads per-tier overrides from env, a map of environment
// variables the caller builds (other variables are ignored, and so are
// AGENT_VAULT_RATELIMIT_PROFILE and AGENT_VAULT_RATELIMIT_LOCK). The keys
// are AGENT_VAULT_RATELIMIT_<TIER>_<KNOB> with TIER one of AUTH, API, PROXY,
// GLOBAL and KNOB one of:
//
//	RATE         requests per second: "20", "0.5", or with a unit "600/m", "10/s", "3600/h"
//	BURST        requests at once: a whole number
//	WINDOW       failure window: a Go duration ("1m", "90s") or whole seconds ("60")
//	MAX          failures per WINDOW: a whole number
//	CONCURRENCY  requests in flight per key: a whole number
//
// GLOBAL takes only MAX or CONCURRENCY, both meaning the in-flight ceiling,
// returned as the Concurrency of the TierGlobal entry. A value of 0, "off"
// or "none" switches the knob off (stored as -1, see Limits); an empty value
// is ignored. The result is an overrides map for Merge. Every bad key is
// reported, each error naming its key.
func ParseOverrides(env map[string]string) (map[Tier]Limits, error) {
	keys := make([]string, 0, len(env))
	for k := range env {
		if strings.HasPrefix(strings.ToUpper(k), EnvPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var set []knobSetting
	var errs []error
	for _, k := range keys {
		rest := strings.ToUpper(k)[len(EnvPrefix):]
		if rest == "PROFILE" || rest == "LOCK" {
			continue
		}
		v := strings.TrimSpace(env[k])
		if v == "" {
			continue
		}
		key, err := parseOverrideKey(rest)
		if err != nil {
			errs = append(errs, fmt.Errorf("ratelimit: %s=%q: %v", k, env[k], err))
			continue
		}
		set = append(set, knobSetting{name: k, raw: env[k], key: key, value: v})
	}
	out, err := limitsOf(set)
	if err != nil || len(errs) > 0 {
		return nil, errors.Join(append(errs, err)...)
	}
	return out, nil
}

// knobSetting is one knob's value as given, with the name it was given
// under (an environment variable, or a stored key) for errors.
type knobSetting struct {
	name, raw string // as given, for errors
	key       OverrideKey
	value     string // trimmed, not empty
}

// limitsOf parses knob settings, in order, into an overrides map for
// Merge. Every bad setting is reported, each error naming its setting;
// the two names of the global in-flight ceiling must agree.
func limitsOf(set []knobSetting) (map[Tier]Limits, error) {
	out := make(map[Tier]Limits)
	var errs []error
	var global *knobSetting // the setting that set the global ceiling
	for i := range set {
		ks := &set[i]
		fail := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("ratelimit: %s=%q: %s", ks.name, ks.raw, fmt.Sprintf(format, a...)))
		}
		t := ks.key.Tier
		l := out[t]
		if err := setKnob(&l, ks.key.Knob, ks.value); err != nil {
			fail("%v", err)
			continue
		}
		if t == TierGlobal {
			n := l.Concurrency
			if ks.key.Knob == KnobMax {
				n = l.Max
			}
			if global != nil && out[t].Concurrency != n {
				fail("conflicts with %s=%q (both set the global in-flight ceiling)", global.name, global.raw)
				continue
			}
			global = ks
			l = Limits{Concurrency: n}
		}
		out[t] = l
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// setKnob parses v as knob's value into l.
func setKnob(l *Limits, knob Knob, v string) error {
	var err error
	switch knob {
	case KnobRate:
		l.Rate, err = parseRate(v)
	case KnobBurst:
		l.Burst, err = parseCount(v)
	case KnobWindow:
		l.Window, err = parseWindow(v)
	case KnobMax:
		l.Max, err = parseCount(v)
	case KnobConcurrency:
		l.Concurrency, err = parseCount(v)
	default:
		err = fmt.Errorf("unknown setting %q", knob)
	}
	return err
}

// off reports whether v switches a knob off.
func off(v string) bool {
	switch strings.ToLower(v) {
	case "off", "none", "unlimited", "disabled":
		return true
	}
	return false
}

func parseRate(v string) (float64, error) {
	if off(v) {
		return -1, nil
	}
	num, per := v, 1.0
	if n, unit, ok := strings.Cut(v, "/"); ok {
		num = strings.TrimSpace(n)
		switch strings.ToLower(strings.TrimSpace(unit)) {
		case "s", "sec", "second":
			per = 1
		case "m", "min", "minute":
			per = 60
		case "h", "hour":
			per = 3600
		default:
			return 0, fmt.Errorf("unknown unit %q (want /s, /m or /h)", unit)
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number of requests per second")
	}
	switch {
	case f < 0:
		return 0, errors.New("must not be negative (0 or off switches it off)")
	case f == 0:
		return -1, nil
	}
	return f / per, nil
}

func parseCount(v string) (int, error) {
	if off(v) {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return 0, errors.New("not a whole number")
	case n < 0:
		return 0, errors.New("must not be negative (0 or off switches it off)")
	case n > math.MaxInt32:
		return 0, fmt.Errorf("too large (at most %d)", math.MaxInt32)
	case n == 0:
		return -1, nil
	}
	return int(n), nil
}

func parseWindow(v string) (time.Duration, error) {
	if off(v) {
		return -1, nil
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(math.MaxInt64/time.Second) || n < 0 {
			return 0, errors.New("out of range (whole seconds, 0 or more)")
		}
		d = time.Duration(n) * time.Second
	} else {
		d, err = time.ParseDuration(v)
		if err != nil {
			return 0, errors.New(`not a duration (e.g. "1m", "90s", or whole seconds)`)
		}
	}
	switch {
	case d < 0:
		return 0, errors.New("must not be negative (0 or off switches it off)")
	case d == 0:
		return -1, nil
	}
	return d, nil
}
