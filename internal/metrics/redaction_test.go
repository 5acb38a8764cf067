package metrics_test

import (
	"sync"
	"testing"

	"github.com/agent-vault/agent-vault/internal/metrics"
)

func TestRedactionCounters(t *testing.T) {
	var nilM *metrics.Metrics
	nilM.Redactions(func() metrics.RedactionStats { return metrics.RedactionStats{} }) // a no-op when metrics are off
	m := metrics.New("v")
	var mu sync.Mutex
	st := metrics.RedactionStats{Header: 2, Body: 5, WebSocket: 1, Refused: 3}
	m.Redactions(func() metrics.RedactionStats { mu.Lock(); defer mu.Unlock(); return st })
	mustValue(t, m, metrics.NameRedactions, map[string]string{"surface": "header"}, 2)
	mustValue(t, m, metrics.NameRedactions, map[string]string{"surface": "body"}, 5)
	mustValue(t, m, metrics.NameRedactions, map[string]string{"surface": "websocket"}, 1)
	mustValue(t, m, metrics.NameRedactionRefusal, nil, 3)
	mu.Lock()
	st.Body = 9
	mu.Unlock()
	mustValue(t, m, metrics.NameRedactions, map[string]string{"surface": "body"}, 9)
}
