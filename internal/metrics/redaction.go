package metrics

import "github.com/prometheus/client_golang/prometheus"

// Names of the response redaction metrics (docs/operations.md).
const (
	NameRedactions       = "agent_vault_proxy_redactions_total"
	NameRedactionRefusal = "agent_vault_proxy_redaction_refusals_total"
)

// RedactionStats is a snapshot of the proxy's response redaction
// (proxy.Proxy.RedactionStats): credential values replaced, by where they
// were found, and responses refused because they could not be scanned.
type RedactionStats struct {
	Header, Body, WebSocket uint64
	Refused                 uint64
}

// Redactions exports the redaction counters, read from stats at each
// scrape.
func (m *Metrics) Redactions(stats func() RedactionStats) {
	if m == nil || stats == nil {
		return
	}
	m.reg.MustRegister(&redactionCollector{
		stats:    stats,
		replaced: prometheus.NewDesc(NameRedactions, "Credential values replaced with the placeholder in responses to agents, by where they were found (header, body, websocket).", []string{"surface"}, nil),
		refused:  prometheus.NewDesc(NameRedactionRefusal, "Responses to brokered requests refused because they could not be scanned for credential values (an encoding the proxy cannot decode, or an upgrade to another protocol than websocket).", nil, nil),
	})
}

type redactionCollector struct {
	stats             func() RedactionStats
	replaced, refused *prometheus.Desc
}

func (c *redactionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.replaced
	ch <- c.refused
}

func (c *redactionCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, s := range []struct {
		surface string
		n       uint64
	}{{"header", st.Header}, {"body", st.Body}, {"websocket", st.WebSocket}} {
		ch <- prometheus.MustNewConstMetric(c.replaced, prometheus.CounterValue, float64(s.n), s.surface)
	}
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.Refused))
}
