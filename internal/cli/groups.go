package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// groupOnly marks a command that only groups others (`vault`, `vault
// service`, …): run bare it prints its help.
const groupOnly = "agent-vault/group"

// strictGroups makes every command group, the root included, refuse a
// word that names none of its subcommands (`vault servce list`, `valt
// list`) with one error and a suggestion, instead of printing help and
// exiting 0 (a group that runs nothing itself would show its help for any
// argument; cobra's own check of the root's first word words it another
// way).
func strictGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
	if !c.HasSubCommands() {
		return
	}
	own, onlyGroup := c.Args, !c.Runnable()
	if own == nil && !onlyGroup {
		return // a runnable group that takes free arguments keeps them
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 || (onlyGroup && len(args) == 1 && args[0] == "help") {
			if own != nil {
				return own(cmd, args)
			}
			return nil
		}
		if own != nil && own(cmd, args) == nil {
			return nil
		}
		return unknownSubcommand(cmd, args[0])
	}
	if !c.Runnable() {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[groupOnly] = "true"
		c.DisableFlagsInUseLine = true // run bare, it takes nothing: it shows this help
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
}

// unknownSubcommand is the error for a word that names no subcommand of
// cmd, with cobra's suggestions (edit distance 2, or a prefix).
func unknownSubcommand(cmd *cobra.Command, word string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown command %q for %q", word, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		fmt.Fprintf(&b, ": did you mean %s?", strings.Join(quoteAll(cmd.CommandPath(), s), " or "))
	}
	fmt.Fprintf(&b, " (see `%s --help`)", cmd.CommandPath())
	return fmt.Errorf("%s", b.String())
}

func quoteAll(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + prefix + " " + n + "`"
	}
	return out
}
