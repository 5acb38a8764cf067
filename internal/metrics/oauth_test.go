package metrics_test

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/metrics"
)

func TestOAuthRefreshCounters(t *testing.T) {
	var nilM *metrics.Metrics
	nilM.OAuthRefreshes(func() []metrics.OAuthRefresh { return nil }) // a no-op when metrics are off
	m := metrics.New("v")
	m.OAuthRefreshes(func() []metrics.OAuthRefresh {
		return []metrics.OAuthRefresh{{Grant: "refresh_token", Trigger: "401", Outcome: "ok", N: 4}, {Grant: "client_credentials", Trigger: "expiry", Outcome: "failed", N: 1}}
	})
	mustValue(t, m, metrics.NameOAuthRefreshes, map[string]string{"grant": "refresh_token", "trigger": "401", "outcome": "ok"}, 4)
	mustValue(t, m, metrics.NameOAuthRefreshes, map[string]string{"grant": "client_credentials", "trigger": "expiry", "outcome": "failed"}, 1)
}
