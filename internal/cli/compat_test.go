package cli

import (
	"os"
	"strings"
	"testing"
)

// Every alias of the public CLI's names resolves to our flag or command,
// stays out of --help, and is listed on docs/compatibility.md.
func TestCompatAliases(t *testing.T) {
	a := &app{}
	root := a.rootCmd()

	add, _, err := root.Find([]string{"vault", "service", "add"})
	if err != nil {
		t.Fatal(err)
	}
	if err := add.ParseFlags([]string{"--auth-type", "api-key", "--api-key-key", "K", "--api-key-header", "X-Key", "--api-key-prefix", "P ", "--token-key", "T"}); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"auth": "api-key", "key": "K", "header": "X-Key", "prefix": "P ", "token": "T"} {
		if got := add.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %q after the public names, want %q", flag, got, want)
		}
	}
	if strings.Contains(add.Flags().FlagUsages(), "auth-type") {
		t.Error("an alias shows in --help")
	}

	for _, path := range [][]string{{"owner", "config", "get"}, {"owner", "config", "set"}, {"owner", "user", "info"}, {"owner", "user", "remove"}, {"owner", "email", "test"}, {"owner", "reset"}, {"verify"}} {
		c, rest, err := root.Find(path)
		if err != nil || len(rest) != 0 || c.Name() == "owner" {
			t.Errorf("%v does not resolve to a command (%v, %v)", path, c.CommandPath(), err)
		}
	}
	set, _, _ := root.Find([]string{"owner", "config", "set"})
	if err := set.ParseFlags([]string{"--invite-only", "--allowed-domains", "a.example"}); err != nil {
		t.Fatal(err)
	}
	if set.Flags().Lookup("invite-only").Value.String() != "true" || set.Flags().Lookup("allowed-email-domains").Value.String() != "a.example" {
		t.Error("owner config set's public flags did not set ours")
	}

	doc, err := os.ReadFile("../../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, alias := range compatAliasList() {
		// "agent-vault vault service add --auth-type = --auth": the public
		// name must be on the page.
		public := strings.Fields(strings.Split(alias, " = ")[0])
		name := public[len(public)-1]
		if !strings.Contains(string(doc), name) {
			t.Errorf("docs/compatibility.md does not list %s", alias)
		}
	}
}
