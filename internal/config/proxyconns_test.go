package config

import (
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
)

func TestLoadProxyConns(t *testing.T) {
	cases := []struct {
		name  string
		flags ProxyConnFlags
		env   map[string]string
		want  ProxyConns
		field string // the field at fault, "" for success
	}{
		{"defaults", ProxyConnFlags{}, nil, ProxyConns{}, ""},
		{"env", ProxyConnFlags{}, map[string]string{EnvProxyIdleTimeout: "30s", EnvProxyBodyTimeout: "5s", EnvProxyStreamIdleTimeout: "1h",
			EnvProxyMaxConnsPerIP: "64", EnvProxyMaxConns: "512"}, ProxyConns{30 * time.Second, 5 * time.Second, time.Hour, 64, 512}, ""},
		{"flag over env", ProxyConnFlags{IdleTimeout: "2m", MaxConns: "10"}, map[string]string{EnvProxyIdleTimeout: "30s", EnvProxyMaxConns: "512"},
			ProxyConns{IdleTimeout: 2 * time.Minute, MaxConns: 10}, ""},
		{"zero duration", ProxyConnFlags{BodyTimeout: "0s"}, nil, ProxyConns{}, "proxy-body-timeout"},
		{"no unit", ProxyConnFlags{}, map[string]string{EnvProxyStreamIdleTimeout: "90"}, ProxyConns{}, "proxy-stream-idle-timeout"},
		{"negative cap", ProxyConnFlags{MaxConnsPerIP: "-1"}, nil, ProxyConns{}, EnvProxyMaxConnsPerIP},
		{"not a number", ProxyConnFlags{}, map[string]string{EnvProxyMaxConns: "lots"}, ProxyConns{}, EnvProxyMaxConns},
	}
	for _, c := range cases {
		got, err := loadProxyConns(c.flags, mapEnv(c.env))
		if c.field != "" {
			if e, ok := errs.As(err); !ok || e.Field != c.field {
				t.Errorf("%s: %v, want an error about %s", c.name, err, c.field)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.name, got, err, c.want)
		}
	}
}
