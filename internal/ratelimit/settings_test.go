package ratelimit

import (
	"strings"
	"testing"
	"time"
)

// The stored form is read key by key, in any case, and every entry that
// does not name a tier's knob with a valid value is refused, naming it.
func TestParseOverrideMap(t *testing.T) {
	cases := []struct {
		name    string
		in      map[string]string
		want    map[string]string // Map() of the result
		wantErr string
	}{
		{"upper case", map[string]string{"PROXY_RATE": "50"}, map[string]string{"PROXY_RATE": "50"}, ""},
		{"lower case, as older servers stored it", map[string]string{"proxy_rate": "600/m", "api_burst": "100"}, map[string]string{"PROXY_RATE": "600/m", "API_BURST": "100"}, ""},
		{"off and an empty value", map[string]string{"AUTH_WINDOW": "off", "AUTH_MAX": ""}, map[string]string{"AUTH_WINDOW": "off"}, ""},
		{"global ceiling", map[string]string{"GLOBAL_MAX": "500"}, map[string]string{"GLOBAL_MAX": "500"}, ""},
		{"nothing", map[string]string{}, nil, ""},
		{"unknown tier", map[string]string{"AUTHED_RATE": "5"}, nil, `AUTHED_RATE="5": unknown tier "AUTHED"`},
		{"unknown knob", map[string]string{"PROXY_SPEED": "5"}, nil, `unknown setting "SPEED"`},
		{"no knob", map[string]string{"PROXY": "5"}, nil, "want <AUTH"},
		{"the environment's prefix is not part of the key", map[string]string{"AGENT_VAULT_RATELIMIT_PROXY_RATE": "5"}, nil, "unknown tier"},
		{"global takes no rate", map[string]string{"GLOBAL_RATE": "5"}, nil, "only MAX or CONCURRENCY"},
		{"negative", map[string]string{"PROXY_BURST": "-1"}, nil, "must not be negative"},
		{"not a number", map[string]string{"PROXY_RATE": "fast"}, nil, "not a number"},
		{"bad unit", map[string]string{"PROXY_RATE": "5/d"}, nil, "unknown unit"},
		{"NaN", map[string]string{"PROXY_RATE": "NaN"}, nil, "not a number"},
		{"one key twice, disagreeing", map[string]string{"PROXY_RATE": "5", "proxy_rate": "6"}, nil, "set twice"},
		{"two names of the global ceiling, disagreeing", map[string]string{"GLOBAL_MAX": "5", "GLOBAL_CONCURRENCY": "6"}, nil, "conflicts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := ParseOverrideMap(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := o.Map()
			if len(got) != len(c.want) {
				t.Fatalf("Map() = %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("Map()[%s] = %q, want %q", k, got[k], v)
				}
			}
			// What was accepted reads back the same.
			again, err := ParseOverrideMap(got)
			if err != nil || len(again) != len(o) {
				t.Fatalf("round trip: %v, %v", again, err)
			}
		})
	}
	o, err := ParseOverrideMap(map[string]string{"proxy_rate": "600/m", "AUTH_WINDOW": "90", "GLOBAL_MAX": "off"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := o.Limits()
	if err != nil {
		t.Fatal(err)
	}
	if l[TierProxy].Rate != 10 || l[TierAuth].Window != 90*time.Second || l[TierGlobal].Concurrency != -1 {
		t.Fatalf("limits %+v", l)
	}
}
