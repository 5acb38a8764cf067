package cli

import (
	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/config"
)

// TEMPORARY: the `vault credential oauth` parent belongs to oauth-core.
func (a *app) oauthParentTmp(setup func() (*client.Client, config.ResolvedVault, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "oauth", Short: "OAuth credentials"}
	cmd.AddCommand(a.oauthConnectCmd(setup))
	return cmd
}
