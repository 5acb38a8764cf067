package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func (a *app) ownerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "owner", Short: "Instance owner commands"}
	vault := &cobra.Command{Use: "vault", Short: "Every vault on the instance"}
	vault.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every vault",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminVaults(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, v := range out.Vaults {
					rows = append(rows, []string{v.Name, v.ID, strconv.FormatBool(v.IsDefault), ts(v.CreatedAt)})
				}
				a.table([]string{"NAME", "ID", "DEFAULT", "CREATED"}, rows)
			})
		},
	}, a.vaultJoinCmd(), a.vaultDeleteCmd())

	user := &cobra.Command{Use: "user", Short: "Every user on the instance"}
	var yes bool
	var heir string
	del := &cobra.Command{
		Use:   "delete <email>",
		Short: "Delete a user; the agents they own are revoked, or handed to --transfer-agents-to",
		Long: "Delete a user. The agents the user owns (created, or was handed) are revoked and left to\n" +
			"instance owners, unless --transfer-agents-to names another user to hand them to: a member\n" +
			"or owner who could have granted each of the agents' vault roles. Their pending invites are revoked.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return fmt.Errorf("this deletes %s's account: run again with --yes to confirm", args[0])
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminDeleteUser(cmd.Context(), args[0], heir)
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "User %s removed.\n", out.Email)
				if len(out.AgentsTransferred) > 0 {
					fmt.Fprintf(w, "Agents handed to %s: %s.\n", out.TransferredTo, strings.Join(out.AgentsTransferred, ", "))
				}
				if len(out.AgentsRevoked) > 0 {
					fmt.Fprintf(w, "Agents revoked (an owner can rotate them back): %s.\n", strings.Join(out.AgentsRevoked, ", "))
				}
			})
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm")
	del.Flags().StringVar(&heir, "transfer-agents-to", "", "hand the user's agents to this user (email) instead of revoking them")
	user.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List users with their vaults",
		Args:  cobra.NoArgs,
		RunE:  a.listUsers,
	}, &cobra.Command{
		Use:   "show <email|me>",
		Short: "Show one user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) {
				fmt.Fprintf(w, "email: %s\nrole: %s\nvaults: %v\ncreated: %s\n", out.Email, out.Role, out.Vaults, ts(out.CreatedAt))
			})
		},
	}, &cobra.Command{
		Use:   "set-role <email> <owner|member|no-access>",
		Short: "Change a user's instance role",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.AdminSetRole(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return a.show(out, func(w io.Writer) { fmt.Fprintf(w, "%s is now %s.\n", out.Email, out.Role) })
		},
	}, del)

	settings := &cobra.Command{Use: "settings", Short: "Instance settings"}
	var (
		inviteOnly, domains, profile string
		logAge, logRows, auditDays   int
		rateOverrides                []string
	)
	set := &cobra.Command{
		Use:   "set",
		Short: "Change instance settings (they apply at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in apitype.InstanceSettings
			fl := cmd.Flags()
			if inviteOnly != "" {
				v, err := strconv.ParseBool(inviteOnly)
				if err != nil {
					return fmt.Errorf("--invite-only must be true or false, not %q", inviteOnly)
				}
				in.InviteOnly = &v
			}
			if fl.Changed("allowed-email-domains") {
				ds := []string{}
				for _, d := range strings.Split(domains, ",") {
					if d = strings.TrimSpace(d); d != "" {
						ds = append(ds, d)
					}
				}
				in.AllowedEmailDomains = &ds
			}
			if fl.Changed("log-max-age-hours") {
				in.LogMaxAgeHours = &logAge
			}
			if fl.Changed("log-max-rows-per-vault") {
				in.LogMaxRowsPerVault = &logRows
			}
			if fl.Changed("rate-limit-profile") {
				in.RateLimitProfile = &profile
			}
			if fl.Changed("audit-retention-days") {
				in.AuditRetentionDays = &auditDays
			}
			if fl.Changed("rate-limit") {
				m := map[string]string{}
				for _, kv := range rateOverrides {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("--rate-limit %q must look like TIER_KNOB=VALUE, e.g. PROXY_RATE=50", kv)
					}
					if k != "" {
						m[strings.ToUpper(strings.TrimSpace(k))] = strings.TrimSpace(v)
					}
				}
				in.RateLimitOverrides = &m
			}
			if in.InviteOnly == nil && in.AllowedEmailDomains == nil && in.LogMaxAgeHours == nil && in.LogMaxRowsPerVault == nil &&
				in.RateLimitProfile == nil && in.RateLimitOverrides == nil && in.AuditRetentionDays == nil {
				return fmt.Errorf("nothing to change: pass at least one of --invite-only, --allowed-email-domains, --log-max-age-hours, --log-max-rows-per-vault, --rate-limit-profile, --rate-limit, --audit-retention-days")
			}
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.UpdateInstanceSettings(cmd.Context(), in)
			if err != nil {
				return err
			}
			return a.showSettings(out)
		},
	}
	set.Flags().StringVar(&inviteOnly, "invite-only", "", "true: only invited users can register")
	set.Flags().StringVar(&domains, "allowed-email-domains", "", "comma-separated domains allowed to register or be invited (empty: any)")
	set.Flags().IntVar(&logAge, "log-max-age-hours", 0, "keep request log rows this many hours")
	set.Flags().IntVar(&logRows, "log-max-rows-per-vault", 0, "keep at most this many request log rows per vault")
	set.Flags().StringVar(&profile, "rate-limit-profile", "", "default, strict, loose or off")
	set.Flags().IntVar(&auditDays, "audit-retention-days", 0, "keep admin audit trail rows this many days (0: for ever)")
	set.Flags().StringArrayVar(&rateOverrides, "rate-limit", nil, "per-tier knob as TIER_KNOB=VALUE (e.g. PROXY_RATE=50, API_BURST=100); repeatable; --rate-limit= clears")
	settings.AddCommand(&cobra.Command{
		Use:   "get",
		Short: "Show instance settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			out, err := c.InstanceSettings(cmd.Context())
			if err != nil {
				return err
			}
			return a.showSettings(out)
		},
	}, set)
	cmd.AddCommand(vault, user, settings)
	return cmd
}

func (a *app) showSettings(s apitype.InstanceSettings) error {
	return a.show(s, func(w io.Writer) {
		if s.InviteOnly != nil {
			fmt.Fprintf(w, "invite_only: %t\n", *s.InviteOnly)
		}
		if s.AllowedEmailDomains != nil {
			d := strings.Join(*s.AllowedEmailDomains, ",")
			if d == "" {
				d = "(any)"
			}
			fmt.Fprintf(w, "allowed_email_domains: %s\n", d)
		}
		intOr := func(p *int) string {
			if p == nil {
				return "(server default)"
			}
			return strconv.Itoa(*p)
		}
		fmt.Fprintf(w, "log_max_age_hours: %s\nlog_max_rows_per_vault: %s\n", intOr(s.LogMaxAgeHours), intOr(s.LogMaxRowsPerVault))
		if s.AuditRetentionDays != nil {
			fmt.Fprintf(w, "audit_retention_days: %d\n", *s.AuditRetentionDays)
		} else {
			fmt.Fprintln(w, "audit_retention_days: (keep for ever)")
		}
		p := "(server default)"
		if s.RateLimitProfile != nil {
			p = *s.RateLimitProfile
		}
		fmt.Fprintf(w, "rate_limit_profile: %s (locked: %t)\n", p, s.RateLimitsLocked)
		if s.RateLimitOverrides != nil {
			keys := slices.Sorted(maps.Keys(*s.RateLimitOverrides))
			for _, k := range keys {
				fmt.Fprintf(w, "rate_limit %s=%s\n", k, (*s.RateLimitOverrides)[k])
			}
		}
	})
}
