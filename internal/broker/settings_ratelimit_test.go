package broker

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
)

func TestRateLimitSettingRules(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	for _, tc := range []struct {
		name    string
		in      apitype.RateLimitSetting
		want    map[string]string
		profile string
		field   string // non-empty: refused, naming this field
	}{
		{name: "empty profile is default", in: apitype.RateLimitSetting{}, profile: "default", want: map[string]string{}},
		{name: "AUTHED is our API tier", in: apitype.RateLimitSetting{Profile: "strict", Overrides: map[string]apitype.RateLimitTierOverride{
			"AUTHED": {Rate: f(2.5), Burst: n(10)}, "PROXY": {Window: "5m", Max: n(3)}, "GLOBAL": {Concurrency: n(64)}}},
			profile: "strict", want: map[string]string{"API_RATE": "2.5", "API_BURST": "10", "PROXY_WINDOW": "5m", "PROXY_MAX": "3", "GLOBAL_CONCURRENCY": "64"}},
		{name: "unknown profile", in: apitype.RateLimitSetting{Profile: "turbo"}, field: "rate_limit.profile"},
		{name: "VERIFY_FAIL has no counterpart", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"VERIFY_FAIL": {Max: n(1)}}}, field: "rate_limit.overrides.VERIFY_FAIL"},
		{name: "unknown tier", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"X": {Max: n(1)}}}, field: "rate_limit.overrides.X"},
		{name: "negative rate", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"AUTH": {Rate: f(-1)}}}, field: "rate_limit.overrides.AUTH.rate"},
		{name: "bad window", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"AUTH": {Window: "soon"}}}, field: "rate_limit.overrides.AUTH.window"},
		{name: "global takes no rate", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"GLOBAL": {Rate: f(1)}}}, field: "rate_limit.overrides.GLOBAL.rate"},
		{name: "AUTHED and API disagree", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"API": {Rate: f(1)}, "AUTHED": {Rate: f(50)}}}, field: "rate_limit.overrides.AUTHED.rate"},
		{name: "AUTHED and API agree", in: apitype.RateLimitSetting{Overrides: map[string]apitype.RateLimitTierOverride{"API": {Rate: f(1)}, "AUTHED": {Rate: f(1)}}},
			profile: "default", want: map[string]string{"API_RATE": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, m, err := fromRateLimitSetting(tc.in)
			if tc.field != "" {
				var e *errs.Error
				if !errors.As(err, &e) || e.Field != tc.field {
					t.Fatalf("err = %v, want one naming %s", err, tc.field)
				}
				return
			}
			if err != nil || p != tc.profile || len(m) != len(tc.want) {
				t.Fatalf("= %q %v %v, want %q %v", p, m, err, tc.profile, tc.want)
			}
			got := m.Map()
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// Whatever an owner sends, the parser does not panic, and what it accepts
// reads back (toRateLimitSetting) as a setting it accepts again, with the
// same overrides.
func FuzzRateLimitSetting(f *testing.F) {
	f.Add(`{"profile":"strict","overrides":{"AUTHED":{"rate":2.5,"burst":10},"PROXY":{"window":"5m","max":3}}}`)
	f.Add(`{"profile":"","overrides":{"GLOBAL":{"concurrency":0}}}`)
	f.Add(`{"overrides":{"AUTH":{"rate":1e308,"window":"90s"}}}`)
	f.Fuzz(func(t *testing.T, js string) {
		var in apitype.RateLimitSetting
		if json.Unmarshal([]byte(js), &in) != nil {
			return
		}
		p, m, err := fromRateLimitSetting(in)
		if err != nil {
			return
		}
		back := toRateLimitSetting(p, m, false)
		p2, m2, err := fromRateLimitSetting(*back)
		if err != nil {
			t.Fatalf("read back %+v refused: %v", back, err)
		}
		if p2 != p {
			t.Fatalf("profile %q read back as %q", p, p2)
		}
		if _, err := m2.Limits(); err != nil {
			t.Fatalf("read back overrides %v do not parse: %v", m2, err)
		}
	})
}
