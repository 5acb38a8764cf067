package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func (a *app) agentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "agent", Short: "Manage agents: named identities with long-lived tokens"}
	var (
		role      string
		vaults    []string
		tokenOnly bool
	)
	create := &cobra.Command{
		Use:   "create <name>",
		Short: "Create an agent; prints its token once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			grants, err := parseVaultGrants(vaults, "proxy")
			if err != nil {
				return err
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			in := apitype.CreateAgentRequest{Name: args[0], Role: role}
			for _, g := range grants {
				in.Vaults = append(in.Vaults, apitype.AgentVault(g))
			}
			out, err := c.CreateAgent(cmd.Context(), in)
			if err != nil {
				return err
			}
			if tokenOnly {
				fmt.Fprintln(a.out, out.Token)
				return nil
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintln(w, agentCreatedLine(out.Name, out.Role, out.Vaults))
				fmt.Fprintf(w, "Its token, shown only now (store it where the agent runs):\n%s\n", out.Token)
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "instance role: owner, member or no-access (default no-access)")
	create.Flags().StringArrayVar(&vaults, "vault", nil, "grant a vault as name:role, role admin, member or proxy (default proxy); repeatable")
	create.Flags().BoolVar(&tokenOnly, "token-only", false, "print only the token")

	simple := func(use, short string, fn func(cmd *cobra.Command, name string) (any, string, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " <name>",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				out, msg, err := fn(cmd, args[0])
				if err != nil {
					return err
				}
				return a.show(out, func(w io.Writer) { fmt.Fprintln(w, msg) })
			},
		}
	}
	cmd.AddCommand(create, &cobra.Command{
		Use:   "list",
		Short: "List agents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.Agents(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, ag := range out.Agents {
					rows = append(rows, []string{ag.Name, ag.Role, ag.Status, grantList(ag.Vaults), ts(ag.CreatedAt)})
				}
				a.table([]string{"NAME", "ROLE", "STATUS", "VAULTS", "CREATED"}, rows)
			})
		},
	},
		simple("info", "Show one agent", func(cmd *cobra.Command, name string) (any, string, error) {
			c, _, err := a.authed()
			if err != nil {
				return nil, "", err
			}
			out, err := c.Agent(cmd.Context(), name)
			owner := out.Owner
			if owner == "" {
				owner = "nobody (instance owners only)"
			}
			return out, fmt.Sprintf("name: %s\nrole: %s\nstatus: %s\nvaults: %s\nowner: %s\ncreated by: %s\ncreated: %s", out.Name, out.Role, out.Status, grantList(out.Vaults), owner, out.CreatedBy, ts(out.CreatedAt)), err
		}),
		simple("revoke", "Disable an agent's token (rotate brings it back)", func(cmd *cobra.Command, name string) (any, string, error) {
			c, _, err := a.authed()
			if err != nil {
				return nil, "", err
			}
			out, err := c.RevokeAgent(cmd.Context(), name)
			msg := "Agent " + name + " revoked."
			if _, created, ok := strings.Cut(out.Message, "; "); ok {
				msg += "\n" + cell(strings.ToUpper(created[:1])+created[1:]) + "."
			}
			return out, msg, err
		}),
		simple("delete", "Delete an agent for good", func(cmd *cobra.Command, name string) (any, string, error) {
			c, _, err := a.authed()
			if err != nil {
				return nil, "", err
			}
			out, err := c.DeleteAgent(cmd.Context(), name)
			return out, "Agent " + name + " deleted.", err
		}),
		simple("rotate", "Issue a new token (the old one, the vault sessions it minted and the agents it created stop working); prints it once", func(cmd *cobra.Command, name string) (any, string, error) {
			c, _, err := a.authed()
			if err != nil {
				return nil, "", err
			}
			out, err := c.RotateAgent(cmd.Context(), name)
			msg := "New token for " + name + ", shown only now:\n" + out.Token
			if len(out.RevokedAgents) > 0 {
				msg += "\nThe agents it had created were revoked (rotate each to bring it back): " + cell(strings.Join(out.RevokedAgents, ", "))
			}
			return out, msg, err
		}),
		&cobra.Command{
			Use:   "rename <name> <new-name>",
			Short: "Rename an agent",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, _, err := a.authed()
				if err != nil {
					return err
				}
				out, err := c.RenameAgent(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Agent %s renamed to %s.\n", out.OldName, out.NewName) })
			},
		},
		&cobra.Command{
			Use:   "set-role <name> <owner|member|no-access>",
			Short: "Change an agent's instance role (owners)",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, _, err := a.authed()
				if err != nil {
					return err
				}
				out, err := c.SetAgentRole(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "Agent %s: %s -> %s.\n", out.Agent, out.OldRole, out.NewRole) })
			},
		})
	return cmd
}

// agentCreatedLine says what a new agent can do, in words: the vaults it
// reaches and with which role, and any instance-wide rights.
func agentCreatedLine(name, instanceRole string, vs []apitype.AgentVault) string {
	reach := "It reaches no vault yet: grant one with `agent-vault vault agent add " + name + " --vault <vault>`."
	if len(vs) > 0 {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = v.VaultName + " (as " + v.VaultRole + ")"
		}
		reach = "It can use vault " + strings.Join(parts, ", ") + "."
		if len(vs) > 1 {
			reach = "It can use vaults " + strings.Join(parts, ", ") + "."
		}
	}
	inst := " It has no instance-wide rights."
	switch instanceRole {
	case "owner":
		// An agent's owner role is a member's rights plus being managed by
		// instance owners only: seeing every vault, users and instance
		// settings stay with people (docs/permissions.md).
		inst = " Its instance role owner lets it create vaults and agents, and only instance owners can manage it (every vault, users and settings stay with people)."
	case "member":
		inst = " Its instance role member lets it create vaults and agents."
	}
	return "Agent " + name + " created. " + reach + inst
}

func grantList(vs []apitype.AgentVault) string {
	if len(vs) == 0 {
		return "-"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.VaultName + ":" + v.VaultRole
	}
	return strings.Join(parts, ",")
}

func (a *app) vaultAgentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "agent", Aliases: []string{"agents"}, Short: "Manage which agents can use the vault"}
	setup := a.vaultScoped(cmd)
	var role string
	add := &cobra.Command{
		Use:   "add <agent>",
		Short: "Give an agent access to the vault (members may grant proxy only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.AddVaultAgent(cmd.Context(), rv.Name, args[0], role)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message+".") })
		},
	}
	add.Flags().StringVar(&role, "role", "proxy", "admin, member or proxy")
	cmd.AddCommand(add, &cobra.Command{
		Use:   "list",
		Short: "List the vault's agents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.VaultAgents(cmd.Context(), rv.Name)
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, ag := range out.Agents {
					rows = append(rows, []string{ag.Name, ag.VaultRole, ag.Status})
				}
				a.table([]string{"AGENT", "ROLE", "STATUS"}, rows)
			})
		},
	}, &cobra.Command{
		Use:   "remove <agent>",
		Short: "Remove an agent's access to the vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.RemoveVaultAgent(cmd.Context(), rv.Name, args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintln(w, out.Message+".") })
		},
	}, &cobra.Command{
		Use:   "set-role <agent> <admin|member|proxy>",
		Short: "Change an agent's role in the vault (admins)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.SetVaultAgentRole(cmd.Context(), rv.Name, args[0], args[1])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s: %s -> %s in vault %s.\n", args[0], out.OldRole, out.NewRole, rv.Name)
			})
		},
	})
	return cmd
}
