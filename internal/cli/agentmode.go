package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
)

// agentCommands are the commands an agent may run: with AGENT_VAULT_TOKEN
// set, every command acts as that token (never as a saved login), and
// every other command is refused before it runs. The server refuses
// agents the rest anyway; this says so clearly, and keeps a human's login
// on the same machine out of an agent's reach.
var agentCommands = map[string]bool{
	"version": true, "help": true, "catalog": true, "completion": true,
	"vault discover": true, "vault current": true,
	"vault proposal create": true, "vault proposal show": true, "vault proposal list": true,
	"account whoami": true, "ca fetch": true, "doctor": true,
	"run": true, "vault run": true,
}

// agentToken is AGENT_VAULT_TOKEN, "" when unset.
func agentToken() string { return config.LoadAgentEnv(nil).Token }

// refuseAgent stops a command an agent may not run.
func refuseAgent(cmd *cobra.Command, _ []string) error {
	if agentToken() == "" {
		return nil
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if agentCommands[path] || strings.HasPrefix(path, "completion") || strings.HasPrefix(path, "__complete") {
		return nil
	}
	return fmt.Errorf("`agent-vault %s` is not for agents: AGENT_VAULT_TOKEN is set, so this CLI acts as that token, "+
		"and an agent may only use vault discover, vault proposal create|show|list, account whoami, ca fetch, doctor and run. "+
		"Ask a human to run it in their own shell (without AGENT_VAULT_TOKEN), or raise a proposal with `agent-vault vault proposal create`", path)
}
