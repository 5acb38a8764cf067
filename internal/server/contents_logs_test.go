package server_test

import (
	"strings"
	"testing"
)

// TestContentsSecretsNeverInLogs runs every contents scenario against one
// server, then searches its debug-level logs for each credential value,
// token and password the scenarios used. (Each scenario's own test also
// checks its own server's logs when it ends.)
func TestContentsSecretsNeverInLogs(t *testing.T) {
	f := newCfx(t)
	scenarios := []struct {
		name string
		run  func(*testing.T, *cfx, string)
	}{
		{"credentials", credentialsScenario},
		{"credentials at rest", credentialsAtRestScenario},
		{"agents never read", agentsNeverReadScenario},
		{"services", servicesScenario},
		{"service validation", serviceValidationScenario},
		{"agents", agentsScenario},
		{"vault agents", vaultAgentsScenario},
		{"scoped sessions", scopedSessionsScenario},
		{"session limit", sessionLimitScenario},
		{"session outlives access", sessionOutlivesAccessScenario},
		{"discover", discoverScenario},
		{"catalog", catalogScenario},
		{"skill", skillScenario},
	}
	for i, s := range scenarios {
		// A distinct prefix per scenario keeps names apart in the one server.
		p := "all" + string(rune('a'+i))
		t.Run(s.name, func(t *testing.T) { s.run(t, f, p) })
	}

	logs := f.e.logs.String()
	if !strings.Contains(logs, "/v1/credentials") || !strings.Contains(logs, "/discover") {
		t.Fatalf("the logs do not record the requests made; the search below would prove nothing")
	}
	f.mu.Lock()
	n := len(f.secrets)
	f.mu.Unlock()
	if n < 100 {
		t.Errorf("only %d secrets were recorded; the scenarios did not run", n)
	}
	f.assertLogsClean(t)
}
