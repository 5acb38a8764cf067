package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The public Agent Vault CLI names some commands and flags differently.
// Scripts written for it keep working: the names below are accepted as
// aliases, hidden from --help and listed in docs/compatibility.md.

// compatFlagNames maps a command path to its flag aliases (alias → ours).
var compatFlagNames = map[string]map[string]string{
	"agent-vault vault service add": {
		"auth-type":      "auth",
		"token-key":      "token",
		"username-key":   "username",
		"password-key":   "password",
		"api-key-key":    "key",
		"api-key-header": "header",
		"api-key-prefix": "prefix",
	},
	"agent-vault owner settings set": {
		"allowed-domains": "allowed-email-domains",
	},
}

// compatCommandNames maps a command path to its hidden alias names.
var compatCommandNames = map[string][]string{
	"agent-vault owner settings":    {"config"},
	"agent-vault owner user show":   {"info"},
	"agent-vault owner user delete": {"remove"},
}

// addCompat installs the aliases on the finished command tree, and the
// commands the public CLI has under other parents (owner email, owner
// reset, a top-level verify).
func (a *app) addCompat(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		if names := compatCommandNames[path]; names != nil {
			c.Aliases = append(c.Aliases, names...)
		}
		if m := compatFlagNames[path]; m != nil {
			c.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
				if to, ok := m[name]; ok {
					return pflag.NormalizedName(to)
				}
				return pflag.NormalizedName(name)
			})
		}
		if path == "agent-vault owner settings set" {
			// The public CLI's --invite-only is a switch: bare means true.
			if f := c.Flags().Lookup("invite-only"); f != nil {
				f.NoOptDefVal = "true"
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// The public CLI tells a registrant to run `agent-vault verify`.
	verify := a.verifyCmd()
	verify.Hidden = true
	root.AddCommand(verify)
	for _, c := range root.Commands() {
		if c.Name() == "owner" {
			email := a.emailCmd()
			email.Hidden = true
			c.AddCommand(email, a.ownerResetCmd())
		}
	}
}

// compatAliasList is every alias, for the docs test.
func compatAliasList() []string {
	var out []string
	for path, m := range compatFlagNames {
		for alias, to := range m {
			out = append(out, path+" --"+alias+" = --"+to)
		}
	}
	for path, names := range compatCommandNames {
		parent := path[:strings.LastIndex(path, " ")]
		for _, n := range names {
			out = append(out, parent+" "+n+" = "+path)
		}
	}
	return out
}
