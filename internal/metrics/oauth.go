package metrics

import "github.com/prometheus/client_golang/prometheus"

// NameOAuthRefreshes names the OAuth renewal counter (docs/operations.md).
const NameOAuthRefreshes = "agent_vault_oauth_refreshes_total"

// OAuthRefresh is one series of the OAuth renewal counts
// (broker.Broker.OAuthRenewals): token requests the vault made by itself,
// by grant (refresh_token, client_credentials), trigger (upload, expiry,
// 401) and outcome (ok, failed). It names no credential: the series stay
// a fixed, small set.
type OAuthRefresh struct {
	Grant, Trigger, Outcome string
	N                       uint64
}

// OAuthRefreshes exports the OAuth renewal counts, read from stats at
// each scrape.
func (m *Metrics) OAuthRefreshes(stats func() []OAuthRefresh) {
	if m == nil || stats == nil {
		return
	}
	m.reg.MustRegister(&oauthCollector{stats: stats,
		desc: prometheus.NewDesc(NameOAuthRefreshes, "Token requests the vault made by itself to keep OAuth credentials connected, by grant (refresh_token, client_credentials), trigger (upload: tokens stored and checked at once; expiry: the access token was due; 401: an upstream refused it) and outcome (ok, failed).",
			[]string{"grant", "trigger", "outcome"}, nil)})
}

type oauthCollector struct {
	stats func() []OAuthRefresh
	desc  *prometheus.Desc
}

func (c *oauthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *oauthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.N), s.Grant, s.Trigger, s.Outcome)
	}
}
