package cli

import (
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestAgentCommands walks every command: with AGENT_VAULT_TOKEN set,
// exactly the agent's commands run and every other is refused, naming
// itself; without it nothing is refused.
func TestAgentCommands(t *testing.T) {
	a := &app{in: strings.NewReader(""), out: io.Discard, errOut: io.Discard}
	root := a.rootCmd()
	var allowed, all []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c.Annotations[groupOnly] != "" {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "agent-vault ")
		all = append(all, path)
		t.Setenv("AGENT_VAULT_TOKEN", "")
		if err := refuseAgent(c, nil); err != nil {
			t.Errorf("%s refused without an agent token: %v", path, err)
		}
		t.Setenv("AGENT_VAULT_TOKEN", "av_agt_test")
		err := refuseAgent(c, nil)
		if err == nil {
			allowed = append(allowed, path)
			return
		}
		if !strings.Contains(err.Error(), "`agent-vault "+path+"` is not for agents") {
			t.Errorf("%s: refusal %q does not name the command", path, err)
		}
	}
	walk(root)
	sort.Strings(allowed)
	want := []string{"account whoami", "agent create", "agent delete", "agent info", "agent list", "agent rename",
		"agent revoke", "agent rotate", "ca fetch", "catalog", "doctor", "run",
		"vault agent add", "vault agent list", "vault create", "vault credential delete", "vault credential list",
		"vault credential set", "vault current", "vault discover", "vault list", "vault logs", "vault logs hosts",
		"vault proposal create", "vault proposal list", "vault proposal show", "vault run",
		"vault service add", "vault service clear", "vault service disable", "vault service enable", "vault service list",
		"vault service remove", "vault service set", "vault service validate", "vault settings",
		"vault token", "vault token list", "vault token revoke", "vault user list", "version"}
	if strings.Join(allowed, ",") != strings.Join(want, ",") {
		t.Errorf("an agent may run %v, want exactly %v", allowed, want)
	}
	if len(all) < 60 {
		t.Errorf("only %d commands found: the walk is broken", len(all))
	}
}

func TestInsideSandbox(t *testing.T) {
	for _, c := range []struct {
		addr, proxyHost string
		wantAddr        string
		wantRelays      string
	}{
		{"http://127.0.0.1:14321", "127.0.0.1", "http://127.0.0.1:14321",
			"127.0.0.1:14322>127.0.0.1:14322 127.0.0.1:14321>127.0.0.1:14321"},
		{"http://localhost:14321", "localhost", "http://127.0.0.1:14321",
			"127.0.0.1:14322>localhost:14322 127.0.0.1:14321>localhost:14321"},
		{"http://[::1]:14321", "::1", "http://[::1]:14321",
			"[::1]:14322>[::1]:14322 [::1]:14321>[::1]:14321"},
		{"http://172.17.0.1:14321", "172.17.0.1", "http://127.0.0.1:14321",
			"127.0.0.1:14322>172.17.0.1:14322 127.0.0.1:14321>172.17.0.1:14321"},
		{"http://vault.internal.example", "vault.internal.example", "http://127.0.0.1:80",
			"127.0.0.1:14322>vault.internal.example:14322 127.0.0.1:80>vault.internal.example:80"},
		{"http://127.0.0.2:14321/prefix", "127.0.0.2", "http://127.0.0.2:14321/prefix",
			"127.0.0.2:14322>127.0.0.2:14322 127.0.0.2:14321>127.0.0.2:14321"},
	} {
		in, relays := runPlan{addr: c.addr, proxyHost: c.proxyHost, proxyPort: 14322}.insideSandbox()
		var got []string
		for _, r := range relays {
			got = append(got, r.Listen+">"+r.Dial)
		}
		if in.addr != c.wantAddr || strings.Join(got, " ") != c.wantRelays || in.proxyHost != strings.Trim(strings.Split(c.wantRelays, ":1432")[0], "[]") {
			t.Errorf("%s: inside addr %q proxy host %q relays %q; want %q and %q", c.addr, in.addr, in.proxyHost, got, c.wantAddr, c.wantRelays)
		}
	}
}
