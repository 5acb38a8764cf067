package ratelimit

import (
	"strings"
	"testing"
	"time"
)

func TestProfiles(t *testing.T) {
	def, g := ProfileLimits(ProfileDefault)
	p := def[TierProxy]
	// One agent driving 64 concurrent streams must fit the default.
	if p.Concurrency < 64 || p.Burst < 64 || p.Rate < 64 || g < 64 {
		t.Fatalf("default proxy %+v, global %d: too small for 64 streams", p, g)
	}
	if a := def[TierAuth]; a.Max <= 0 || a.Window <= 0 {
		t.Fatalf("default auth has no failure budget: %+v", a)
	}
	// Profiles order strict < default < loose on every knob.
	s, gs := ProfileLimits(ProfileStrict)
	lo, gl := ProfileLimits(ProfileLoose)
	if !(gs < g && g < gl) {
		t.Errorf("global ceilings not ordered: %d %d %d", gs, g, gl)
	}
	for _, tier := range keyedTiers {
		a, b, c := s[tier], def[tier], lo[tier]
		if !(a.Rate < b.Rate && b.Rate < c.Rate && a.Burst < b.Burst && b.Burst < c.Burst) {
			t.Errorf("%v: rates not ordered: %+v %+v %+v", tier, a, b, c)
		}
		if a.Concurrency > b.Concurrency || b.Concurrency > c.Concurrency {
			t.Errorf("%v: concurrency not ordered", tier)
		}
	}
	off, goff := ProfileLimits(ProfileOff)
	if goff != 0 || len(off) != 3 {
		t.Fatalf("off = %v %d", off, goff)
	}
	for tier, l := range off {
		if l != (Limits{}) {
			t.Errorf("off %v = %+v", tier, l)
		}
	}
	// The map is fresh: changing it changes nothing else.
	def[TierProxy] = Limits{}
	if again, _ := ProfileLimits(ProfileDefault); again[TierProxy] != p {
		t.Fatal("ProfileLimits returned shared state")
	}
	if unk, _ := ProfileLimits("nope"); unk[TierAPI] != def[TierAPI] {
		t.Fatal("unknown profile is not the default")
	}
}

func TestParseProfile(t *testing.T) {
	for in, want := range map[string]Profile{"": ProfileDefault, " Strict ": ProfileStrict, "LOOSE": ProfileLoose, "off": ProfileOff, "default": ProfileDefault} {
		if got, err := ParseProfile(in); err != nil || got != want {
			t.Errorf("ParseProfile(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseProfile("lenient"); err == nil || !strings.Contains(err.Error(), "lenient") {
		t.Errorf("ParseProfile(lenient) error = %v", err)
	}
}

func TestMerge(t *testing.T) {
	base := map[Tier]Limits{TierAPI: {Rate: 20, Burst: 60}, TierProxy: {Rate: 100, Burst: 200, Concurrency: 128}}
	over := map[Tier]Limits{
		TierAPI:    {Burst: 10},
		TierProxy:  {Concurrency: -1, Rate: 5},
		TierAuth:   {Max: 3, Window: time.Minute},
		TierGlobal: {Concurrency: 9},
	}
	got := Merge(base, over)
	want := map[Tier]Limits{
		TierAPI:    {Rate: 20, Burst: 10},
		TierProxy:  {Rate: 5, Burst: 200, Concurrency: -1},
		TierAuth:   {Max: 3, Window: time.Minute},
		TierGlobal: {Concurrency: 9},
	}
	if len(got) != len(want) {
		t.Fatalf("Merge = %v", got)
	}
	for tier, w := range want {
		if got[tier] != w {
			t.Errorf("Merge[%v] = %+v, want %+v", tier, got[tier], w)
		}
	}
	if base[TierAPI].Burst != 60 {
		t.Fatal("Merge modified base")
	}
	if m := Merge(nil, nil); m == nil || len(m) != 0 {
		t.Fatal("Merge(nil, nil) should be an empty map")
	}
}

func TestParseOverridesValid(t *testing.T) {
	got, err := ParseOverrides(map[string]string{
		"AGENT_VAULT_RATELIMIT_PROFILE":           "strict", // not a tier setting
		"AGENT_VAULT_RATELIMIT_LOCK":              "1",
		"AGENT_VAULT_ADDR":                        "https://x", // not ours
		"HOME":                                    "/root",
		"AGENT_VAULT_RATELIMIT_AUTH_MAX":          "20",
		"AGENT_VAULT_RATELIMIT_AUTH_WINDOW":       "5m",
		"AGENT_VAULT_RATELIMIT_AUTH_RATE":         "600/m",
		"AGENT_VAULT_RATELIMIT_API_RATE":          " 2.5 ",
		"AGENT_VAULT_RATELIMIT_API_BURST":         "0", // switched off
		"AGENT_VAULT_RATELIMIT_API_WINDOW":        "90",
		"AGENT_VAULT_RATELIMIT_PROXY_CONCURRENCY": "256",
		"AGENT_VAULT_RATELIMIT_PROXY_RATE":        "off",
		"AGENT_VAULT_RATELIMIT_PROXY_BURST":       "",  // ignored
		"agent_vault_ratelimit_proxy_max":         "7", // any case
		"AGENT_VAULT_RATELIMIT_GLOBAL_MAX":        "2048",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[Tier]Limits{
		TierAuth:   {Max: 20, Window: 5 * time.Minute, Rate: 10},
		TierAPI:    {Rate: 2.5, Burst: -1, Window: 90 * time.Second},
		TierProxy:  {Concurrency: 256, Rate: -1, Max: 7},
		TierGlobal: {Concurrency: 2048},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for tier, w := range want {
		if got[tier] != w {
			t.Errorf("%v = %+v, want %+v", tier, got[tier], w)
		}
	}
	// The same ceiling under both names is fine.
	if g, err := ParseOverrides(map[string]string{"AGENT_VAULT_RATELIMIT_GLOBAL_MAX": "5", "AGENT_VAULT_RATELIMIT_GLOBAL_CONCURRENCY": "5"}); err != nil || g[TierGlobal].Concurrency != 5 {
		t.Fatalf("GLOBAL_MAX = GLOBAL_CONCURRENCY: %v %v", g, err)
	}
	// Empty input: an empty, usable map.
	if g, err := ParseOverrides(nil); err != nil || g == nil || len(g) != 0 {
		t.Fatalf("ParseOverrides(nil) = %v, %v", g, err)
	}
	// Overrides feed New: the result applies on top of the profile.
	l, err := New(Options{Profile: ProfileDefault, Limits: got})
	if err != nil {
		t.Fatal(err)
	}
	s := l.Settings()
	if s.Global != 2048 || s.Limits[TierProxy].Concurrency != 256 || s.Limits[TierProxy].Burst != 200 || s.Limits[TierAPI].Rate != 2.5 {
		t.Fatalf("Settings = %+v", s)
	}
}

func TestParseOverridesInvalid(t *testing.T) {
	for key, val := range map[string]string{
		"AGENT_VAULT_RATELIMIT_API_RATE":           "fast",
		"AGENT_VAULT_RATELIMIT_API_RATE ":          "1",
		"AGENT_VAULT_RATELIMIT_AUTH_RATE":          "10/d",
		"AGENT_VAULT_RATELIMIT_PROXY_RATE":         "NaN",
		"AGENT_VAULT_RATELIMIT_PROXY_BURST":        "-5",
		"AGENT_VAULT_RATELIMIT_PROXY_BURST_":       "5",
		"AGENT_VAULT_RATELIMIT_PROXY_CONCURRENCY":  "1.5",
		"AGENT_VAULT_RATELIMIT_PROXY_MAX":          "99999999999",
		"AGENT_VAULT_RATELIMIT_AUTH_WINDOW":        "soon",
		"AGENT_VAULT_RATELIMIT_AUTH_WINDOW_":       "1m",
		"AGENT_VAULT_RATELIMIT_API_WINDOW":         "-1m",
		"AGENT_VAULT_RATELIMIT_ADMIN_RATE":         "5",
		"AGENT_VAULT_RATELIMIT_PROXY_SPEED":        "5",
		"AGENT_VAULT_RATELIMIT_BURST":              "5",
		"AGENT_VAULT_RATELIMIT_GLOBAL_RATE":        "5",
		"AGENT_VAULT_RATELIMIT_GLOBAL_CONCURRENCY": "x",
	} {
		_, err := ParseOverrides(map[string]string{key: val})
		if err == nil {
			t.Errorf("%s=%q accepted", key, val)
			continue
		}
		if !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: error %q does not name the key", key, val, err)
		}
	}
	// Every bad key is reported at once.
	_, err := ParseOverrides(map[string]string{
		"AGENT_VAULT_RATELIMIT_API_RATE":    "fast",
		"AGENT_VAULT_RATELIMIT_PROXY_BURST": "lots",
		"AGENT_VAULT_RATELIMIT_AUTH_MAX":    "3",
	})
	if err == nil || !strings.Contains(err.Error(), "API_RATE") || !strings.Contains(err.Error(), "PROXY_BURST") {
		t.Fatalf("combined error = %v", err)
	}
	// Conflicting ceilings name both keys.
	_, err = ParseOverrides(map[string]string{"AGENT_VAULT_RATELIMIT_GLOBAL_MAX": "5", "AGENT_VAULT_RATELIMIT_GLOBAL_CONCURRENCY": "6"})
	if err == nil || !strings.Contains(err.Error(), "GLOBAL_MAX") || !strings.Contains(err.Error(), "GLOBAL_CONCURRENCY") {
		t.Fatalf("conflict error = %v", err)
	}
}
