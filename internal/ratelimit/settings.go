package ratelimit

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Knob is one setting of a tier (see ParseOverrides for their values).
type Knob string

// The knobs.
const (
	KnobRate        Knob = "RATE"
	KnobBurst       Knob = "BURST"
	KnobWindow      Knob = "WINDOW"
	KnobMax         Knob = "MAX"
	KnobConcurrency Knob = "CONCURRENCY"
)

// OverrideKey names one knob of one tier.
type OverrideKey struct {
	Tier Tier
	Knob Knob
}

// String is the key's stored form: "PROXY_RATE", the environment
// variable's name without EnvPrefix.
func (k OverrideKey) String() string { return strings.ToUpper(k.Tier.String()) + "_" + string(k.Knob) }

// Overrides are the per-tier knobs an owner sets in the instance
// settings, each value as written ("50", "600/m", "off"). Their stored
// and wire form is the environment's without its prefix —
// {"PROXY_RATE": "50"} — which ParseOverrideMap reads and Map writes; a
// value of Overrides has passed the same checks as the environment's.
type Overrides map[OverrideKey]string

// ParseOverrideMap validates the stored or wire form: keys are
// <TIER>_<KNOB> in any case (TIER one of AUTH, API, PROXY, GLOBAL; the
// global tier takes only MAX or CONCURRENCY), values as ParseOverrides
// takes them; an empty value is no setting. Every bad entry is reported,
// each error naming its key.
func ParseOverrideMap(m map[string]string) (Overrides, error) {
	out := Overrides{}
	var errList []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := strings.TrimSpace(m[k])
		if v == "" {
			continue
		}
		key, err := parseOverrideKey(strings.ToUpper(k))
		if err != nil {
			errList = append(errList, fmt.Errorf("ratelimit: %s=%q: %w", k, m[k], err))
			continue
		}
		if err := setKnob(&Limits{}, key.Knob, v); err != nil {
			errList = append(errList, fmt.Errorf("ratelimit: %s=%q: %w", k, m[k], err))
			continue
		}
		if prev, dup := out[key]; dup && prev != v {
			errList = append(errList, fmt.Errorf("ratelimit: %s=%q: %s is set twice", k, m[k], key))
			continue
		}
		out[key] = v
	}
	if len(errList) > 0 {
		return nil, errors.Join(errList...)
	}
	// What only the whole set can break (the two names of the global
	// ceiling disagreeing).
	if _, err := out.Limits(); err != nil {
		return nil, err
	}
	return out, nil
}

// Map is the stored and wire form of o (nil when o is empty).
func (o Overrides) Map() map[string]string {
	if len(o) == 0 {
		return nil
	}
	out := make(map[string]string, len(o))
	for k, v := range o {
		out[k.String()] = v
	}
	return out
}

// Limits are o's values parsed, an overrides map for Merge.
func (o Overrides) Limits() (map[Tier]Limits, error) {
	keys := slices.SortedFunc(maps.Keys(o), func(a, b OverrideKey) int { return strings.Compare(a.String(), b.String()) })
	set := make([]knobSetting, 0, len(keys))
	for _, k := range keys {
		if v := strings.TrimSpace(o[k]); v != "" {
			set = append(set, knobSetting{name: k.String(), raw: o[k], key: k, value: v})
		}
	}
	return limitsOf(set)
}

// NewOverrideKey names knob of tier, refusing a pair that is no setting
// (an unknown knob; the global tier takes only MAX or CONCURRENCY).
func NewOverrideKey(t Tier, k Knob) (OverrideKey, error) {
	switch k {
	case KnobRate, KnobBurst, KnobWindow, KnobMax, KnobConcurrency:
	default:
		return OverrideKey{}, fmt.Errorf("unknown setting %q (want RATE, BURST, WINDOW, MAX or CONCURRENCY)", string(k))
	}
	switch t {
	case TierAuth, TierAPI, TierProxy:
	case TierGlobal:
		if k != KnobMax && k != KnobConcurrency {
			return OverrideKey{}, errors.New("the global tier takes only MAX or CONCURRENCY (the in-flight ceiling)")
		}
	default:
		return OverrideKey{}, fmt.Errorf("unknown tier %v (want AUTH, API, PROXY or GLOBAL)", t)
	}
	return OverrideKey{Tier: t, Knob: k}, nil
}

// CheckValue reports why v is no value of k's knob, or nil.
func (k OverrideKey) CheckValue(v string) error {
	return setKnob(&Limits{}, k.Knob, strings.TrimSpace(v))
}

// parseOverrideKey reads an upper-case "<TIER>_<KNOB>".
func parseOverrideKey(s string) (OverrideKey, error) {
	name, knob, ok := strings.Cut(s, "_")
	if !ok {
		return OverrideKey{}, fmt.Errorf("want <AUTH|API|PROXY|GLOBAL>_<RATE|BURST|WINDOW|MAX|CONCURRENCY>")
	}
	var t Tier
	switch name {
	case "AUTH":
		t = TierAuth
	case "API":
		t = TierAPI
	case "PROXY":
		t = TierProxy
	case "GLOBAL":
		t = TierGlobal
	default:
		return OverrideKey{}, fmt.Errorf("unknown tier %q (want AUTH, API, PROXY or GLOBAL)", name)
	}
	return NewOverrideKey(t, Knob(knob))
}
