package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// runCLI runs one command line in-process and returns its exit code and
// what it printed on each stream.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{in: strings.NewReader(""), out: &out, errOut: &errOut}
	code := a.execute(context.Background(), args)
	return code, out.String(), errOut.String()
}

// groups lists every command below the root that has subcommands.
func groups(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.HasSubCommands() {
			out = append(out, sub)
		}
		out = append(out, groups(sub)...)
	}
	return out
}

// A mistyped subcommand of any group is an error that names the word and
// suggests the command meant; it never prints help and exits 0.
func TestMistypedSubcommand(t *testing.T) {
	t.Setenv("AGENT_VAULT_TOKEN", "")
	root := (&app{}).rootCmd()
	gs := groups(root)
	if len(gs) < 15 {
		t.Fatalf("only %d command groups found: the walk is broken", len(gs))
	}
	for _, g := range gs {
		var first string
		for _, sub := range g.Commands() {
			if sub.IsAvailableCommand() && len(sub.Name()) > 3 {
				first = sub.Name()
				break
			}
		}
		if first == "" {
			continue
		}
		path := strings.Fields(strings.TrimPrefix(g.CommandPath(), "agent-vault "))
		typo := first[:len(first)-1] + "x" + first[len(first)-1:] // one letter too many
		code, out, errOut := runCLI(t, append(path, typo, "list")...)
		if code == 0 {
			t.Errorf("%s %s: exit 0 (stdout %q)", g.CommandPath(), typo, out)
			continue
		}
		if strings.Contains(out, "Usage:") {
			t.Errorf("%s %s printed help instead of an error", g.CommandPath(), typo)
		}
		want := "`" + g.CommandPath() + " " + first + "`"
		if !strings.Contains(errOut, `unknown command "`+typo+`"`) || !strings.Contains(errOut, "did you mean") || !strings.Contains(errOut, want) {
			t.Errorf("%s %s: error %q does not name the word and suggest %s", g.CommandPath(), typo, errOut, want)
		}
	}
	// The walkthrough's own typo.
	code, _, errOut := runCLI(t, "vault", "servce", "list")
	if code == 0 || !strings.Contains(errOut, "`agent-vault vault service`") {
		t.Errorf("vault servce list: exit %d, %q", code, errOut)
	}
	// The root's first word is refused in the same words as a group's.
	code, _, errOut = runCLI(t, "valt", "list")
	if code == 0 || !strings.Contains(errOut, "did you mean `agent-vault vault`?") || strings.Contains(errOut, "Did you mean this") {
		t.Errorf("valt list: exit %d, %q", code, errOut)
	}
	// A group run bare, or with help, still shows its help, successfully.
	for _, args := range [][]string{{"vault", "service"}, {"vault", "service", "help"}, {}, {"help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Available Commands:") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

// No flag's help text holds a back-quote: cobra reads the first
// back-quoted word as the flag's value name (`--vault agent-vault vault
// current`).
func TestFlagUsagesHaveNoBackQuotes(t *testing.T) {
	root := (&app{}).rootCmd()
	var walk func(c *cobra.Command)
	n := 0
	seen := map[*pflag.Flag]bool{}
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if seen[f] {
					return
				}
				seen[f] = true
				n++
				if strings.Contains(f.Usage, "`") {
					t.Errorf("%s --%s: usage %q has a back-quote", c.CommandPath(), f.Name, f.Usage)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 100 {
		t.Fatalf("only %d flags found: the walk is broken", n)
	}
}

func TestAgentCreatedLine(t *testing.T) {
	for _, c := range []struct {
		role   string
		vaults []apitype.AgentVault
		want   string
	}{
		{"no-access", []apitype.AgentVault{{VaultName: "default", VaultRole: "proxy"}},
			"Agent bot created. It can use vault default (as proxy). It has no instance-wide rights."},
		{"member", nil, "Agent bot created. It reaches no vault yet: grant one with `agent-vault vault agent add bot --vault <vault>`. Its instance role member lets it create vaults and agents."},
		{"owner", []apitype.AgentVault{{VaultName: "a", VaultRole: "admin"}, {VaultName: "b", VaultRole: "member"}},
			"Agent bot created. It can use vaults a (as admin), b (as member). Its instance role owner lets it create vaults and agents, and only instance owners can manage it (every vault, users and settings stay with people)."},
	} {
		if got := agentCreatedLine("bot", c.role, c.vaults); got != c.want {
			t.Errorf("role %s: %q, want %q", c.role, got, c.want)
		}
	}
}
