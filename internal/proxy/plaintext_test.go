package proxy_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestPlaintextOnlyByOptIn plays an agent that tries to get a credential
// sent over plain http://: an explicit port (443 included) is no longer an
// opt-in, allow_plaintext is, and port 443 never is.
func TestPlaintextOnlyByOptIn(t *testing.T) {
	e := newEnv(t, true)
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	port := strconv.Itoa(e.plainPort)
	subst := []apitype.Substitution{{Key: "API_KEY", Placeholder: "__KEY__", In: []string{"query"}}}
	cases := []struct {
		name     string
		svc      apitype.Service
		url      string
		injected bool // 200 with the credential; else 403 insecure_transport
	}{
		{"port-less pattern", bearer("plain", "plain.test", "API_KEY"), "http://plain.test:" + port + "/x", false},
		{"explicit port is not an opt-in", bearer("plain", "plain.test:"+port, "API_KEY"), "http://plain.test:" + port + "/x", false},
		{"port 443 pattern over http", bearer("plain", "plain.test:443", "API_KEY"), "http://plain.test:443/x", false},
		{"opt-in never covers port 443", optIn(bearer("plain", "plain.test", "API_KEY")), "http://plain.test:443/x", false},
		{"passthrough with a substitution injects too",
			apitype.Service{Name: "plain", Host: "plain.test", Auth: apitype.ServiceAuth{Type: "passthrough"}, Substitutions: subst},
			"http://plain.test:" + port + "/x?k=__KEY__", false},
		{"opt-in on an explicit port", optIn(bearer("plain", "plain.test:"+port, "API_KEY")), "http://plain.test:" + port + "/x", true},
		{"opt-in on a port-less pattern", optIn(bearer("plain", "plain.test", "API_KEY")), "http://plain.test:" + port + "/x", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.setup(map[string]string{"API_KEY": secretValue}, tc.svc)
			before := len(e.seen.reqs)
			resp, err := c.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.injected {
				m := brokerError(t, resp, http.StatusForbidden, "insecure_transport")
				if len(e.seen.reqs) != before {
					t.Fatalf("a refused plaintext request reached the upstream")
				}
				if !strings.Contains(m["help"].(string), "https://") {
					t.Errorf("help does not say what to do: %v", m["help"])
				}
				return
			}
			body := read(t, resp)
			if resp.StatusCode != 200 || e.seen.last().Header.Get("Authorization") != "Bearer "+secretValue {
				t.Fatalf("opted-in plaintext service: %d %s", resp.StatusCode, body)
			}
		})
	}
	// Passthrough without substitutions injects nothing and is forwarded.
	e.setup(nil, apitype.Service{Name: "plain", Host: "plain.test", Auth: apitype.ServiceAuth{Type: "passthrough"}})
	resp, err := c.Get("http://plain.test:" + port + "/x")
	if err != nil {
		t.Fatal(err)
	}
	if b := read(t, resp); resp.StatusCode != 200 || e.seen.last().Header.Get("Authorization") != "" {
		t.Fatalf("passthrough over http: %d %s", resp.StatusCode, b)
	}
}

func optIn(s apitype.Service) apitype.Service { s.AllowPlaintext = true; return s }
