package config

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/errs"
)

func TestLoadServerMetricsAddr(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		flag  string
		env   string
		want  string
		wantE bool
	}{
		{name: "off by default"},
		{name: "env", env: "127.0.0.1:9464", want: "127.0.0.1:9464"},
		{name: "flag beats env", flag: "127.0.0.1:9500", env: "127.0.0.1:9464", want: "127.0.0.1:9500"},
		{name: "all interfaces", flag: ":9464", want: ":9464"},
		{name: "ipv6", flag: "[::1]:0", want: "[::1]:0"},
		{name: "trimmed", env: "  127.0.0.1:1  ", want: "127.0.0.1:1"},
		{name: "no port", flag: "127.0.0.1", wantE: true},
		{name: "bad port", env: "127.0.0.1:http", wantE: true},
		{name: "port out of range", flag: "127.0.0.1:65536", wantE: true},
		{name: "a URL", flag: "http://127.0.0.1:9464", wantE: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadServer(ServerFlags{MetricsAddr: c.flag}, mapEnv(map[string]string{EnvDataDir: dir, EnvMetricsAddr: c.env}))
			if c.wantE {
				if e, ok := errs.As(err); !ok || e.Field != "metrics-addr" {
					t.Fatalf("err = %v, want an invalid metrics-addr", err)
				}
				return
			}
			if err != nil || got.MetricsAddr != c.want {
				t.Fatalf("MetricsAddr = %q, %v; want %q", got.MetricsAddr, err, c.want)
			}
		})
	}
}
