package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
)

// With AGENT_VAULT_TOKEN set, every command acts as that token (never as
// a saved login), and only the commands an agent can use run at all; the
// others stop before they reach the server, saying so. The server decides
// anyway; this keeps a human's login on the same machine out of an agent's
// reach and the error clear. docs/agents.md lists both sets.
var (
	// agentCommands work for every agent token and vault session.
	agentCommands = map[string]bool{
		"version": true, "help": true, "catalog": true,
		"vault discover": true, "vault current": true,
		"vault proposal create": true, "vault proposal show": true, "vault proposal list": true,
		"account whoami": true, "ca fetch": true, "doctor": true,
		"run": true, "vault run": true,
	}
	// agentRoleCommands are those the server lets an agent do when its
	// role allows (credential keys for the proxy role; writing credentials
	// within their bindings, services, logs, adding proxy agents for a
	// member; agents and vaults for an agent with an instance role): the
	// server's answer says which role is missing.
	agentRoleCommands = map[string]bool{
		"vault credential list": true, "vault credential set": true, "vault credential delete": true,
		"vault service list": true, "vault service add": true, "vault service set": true, "vault service remove": true,
		"vault service enable": true, "vault service disable": true, "vault service clear": true, "vault service validate": true,
		"vault logs": true, "vault logs hosts": true,
		"vault agent add": true, "vault agent list": true, "vault user list": true, "vault settings": true,
		"vault token": true, "vault token list": true, "vault token revoke": true,
		"vault create": true, "vault list": true,
		"agent create": true, "agent list": true, "agent info": true, "agent rotate": true,
		"agent revoke": true, "agent rename": true, "agent delete": true,
	}
)

// agentToken is AGENT_VAULT_TOKEN, "" when unset.
func agentToken() string { return config.LoadAgentEnv(nil).Token }

// refuseAgent stops a command an agent may not run.
func refuseAgent(cmd *cobra.Command, _ []string) error {
	if agentToken() == "" {
		return nil
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if agentCommands[path] || agentRoleCommands[path] || cmd.Annotations[groupOnly] != "" || strings.HasPrefix(path, "completion") || strings.HasPrefix(path, "__complete") {
		return nil
	}
	return fmt.Errorf("`agent-vault %s` is not for agents: AGENT_VAULT_TOKEN is set, so this CLI acts as that token, "+
		"and only a logged-in user may do this (reading credential values, binding them, reviewing proposals, accounts, "+
		"members, instance administration). Ask a human to run it in their own shell (without AGENT_VAULT_TOKEN), "+
		"or raise a proposal with `agent-vault vault proposal create`", path)
}
