package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "6e6c959abcdef0123456789abcdef0123456789a"},
		{Key: "vcs.time", Value: "2026-12-06T04:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	cases := []struct {
		name      string
		bi        *debug.BuildInfo
		ld        string
		want      Info
		short, id string
	}{
		{"nothing recorded", nil, "", Info{Version: "dev"}, "dev", "dev"},
		{"checkout without vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", Info{Version: "dev"}, "dev", "dev"},
		{"checkout with vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "",
			Info{Version: "dev", Commit: "6e6c959abcdef0123456789abcdef0123456789a", Time: "2026-12-06T04:00:00Z", Modified: true},
			"dev (6e6c959abcde, 2026-12-06T04:00:00Z, modified)", "dev-6e6c959abcde+dirty"},
		{"go install at a tag", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "", Info{Version: "v1.4.0"}, "v1.4.0", "v1.4.0"},
		{"release ldflags win", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs[:3]}, "v2.0.0",
			Info{Version: "v2.0.0", Commit: "6e6c959abcdef0123456789abcdef0123456789a", Time: "2026-12-06T04:00:00Z"},
			"v2.0.0 (6e6c959abcde, 2026-12-06T04:00:00Z)", "v2.0.0"},
		{"pseudo-version names the commit", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206040000-6e6c959abcde+dirty"}, Settings: vcs}, "",
			Info{Version: "v0.0.0-20261206040000-6e6c959abcde+dirty", Commit: "6e6c959abcdef0123456789abcdef0123456789a", Time: "2026-12-06T04:00:00Z", Modified: true},
			"v0.0.0-20261206040000-6e6c959abcde+dirty (2026-12-06T04:00:00Z)", "v0.0.0-20261206040000-6e6c959abcde+dirty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fromBuildInfo(c.bi, c.ld)
			got.GoVersion = ""
			if got != c.want {
				t.Fatalf("fromBuildInfo = %+v, want %+v", got, c.want)
			}
			if s := got.Short(); s != c.short {
				t.Errorf("Short = %q, want %q", s, c.short)
			}
			if s := got.Ident(); s != c.id {
				t.Errorf("Ident = %q, want %q", s, c.id)
			}
		})
	}
}
