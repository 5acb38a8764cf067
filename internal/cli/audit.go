package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// auditCmd reads the admin audit trail: who did what to the instance.
func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The admin audit trail: every management action, hash-chained",
		Long: `The admin audit trail records every management action (logins, sessions,
credentials set, revealed and deleted, services, agents, grants and roles,
invites, proposals, settings, master-password changes): time, actor, vault,
target, action, source address and outcome, never a value. Owners read the
whole trail; a vault's admins read its rows with --vault.`,
	}
	cmd.AddCommand(a.auditListCmd(), a.auditVerifyCmd(), a.auditExportCmd())
	return cmd
}

// auditFetch reads a page: one vault's rows through the vault route (its
// admins and owners), else the whole trail (owners).
func auditFetch(ctx context.Context, c *client.Client, f client.AuditFilter) (apitype.AuditEventList, error) {
	if f.Vault != "" {
		return c.VaultAudit(ctx, f.Vault, f)
	}
	return c.AdminAudit(ctx, f)
}

// auditClient is the logged-in client, with f's --since and --until read
// (a time or an age, timeflag.go).
func (a *app) auditClient(f *client.AuditFilter) (*client.Client, error) {
	c, _, err := a.authed()
	if err != nil {
		return nil, err
	}
	return c, timeFlags(time.Now(), map[string]*string{"since": &f.Since, "until": &f.Until})
}

func auditFlags(cmd *cobra.Command, f *client.AuditFilter) {
	fl := cmd.Flags()
	fl.StringVar(&f.Vault, "vault", "", "only this vault's rows (its admins may read them)")
	fl.StringVar(&f.Action, "action", "", `only this action ("credential.reveal"), or a prefix ending in "." ("credential.")`)
	fl.StringVar(&f.Actor, "actor", "", "only this actor (an email, agent:name, or an id)")
	fl.StringVar(&f.Since, "since", "", "from this time (2026-01-02T15:04:05Z) or this long ago (30m, 1h, 7d)")
	fl.StringVar(&f.Until, "until", "", "before this time, or this long ago")
}

func (a *app) auditListCmd() *cobra.Command {
	var (
		f      client.AuditFilter
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show the latest rows of the trail (oldest of them first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.auditClient(&f)
			if err != nil {
				return err
			}
			out, err := auditFetch(cmd.Context(), c, f)
			if err != nil {
				return err
			}
			rows := out.Events
			slices.Reverse(rows)
			if !follow {
				return a.show(out, func(io.Writer) {
					t := [][]string{}
					for _, e := range rows {
						t = append(t, auditRow(e))
					}
					a.table(auditHeader, t)
				})
			}
			return followRows(cmd.Context(), 2*time.Second, rows, func(e apitype.AuditEvent) int64 { return e.Seq },
				func(after int64) ([]apitype.AuditEvent, error) {
					nf := f
					nf.Before, nf.After, nf.FromStart, nf.Limit = 0, after, true, 1000
					more, err := auditFetch(cmd.Context(), c, nf)
					return more.Events, err
				},
				func(rows []apitype.AuditEvent, header bool) { printStream(a, rows, header, auditHeader, auditRow) })
		},
	}
	auditFlags(cmd, &f)
	fl := cmd.Flags()
	fl.IntVar(&f.Limit, "limit", 50, "rows to show (1-1000)")
	fl.Int64Var(&f.Before, "before", 0, "rows older than this seq (the next_cursor of a previous page)")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new rows")
	return cmd
}

func (a *app) auditExportCmd() *cobra.Command {
	var f client.AuditFilter
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the trail as JSON lines, oldest first (for a SIEM)",
		Long: `Write every row of the trail (or of one vault, or a time range) as one JSON
object per line, oldest first, with each row's chain hash. --after resumes an
earlier export after the last seq it wrote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.auditClient(&f)
			if err != nil {
				return err
			}
			f.FromStart, f.Limit = true, 1000
			for {
				page, err := auditFetch(cmd.Context(), c, f)
				if err != nil {
					return err
				}
				for _, e := range page.Events {
					if err := a.printJSONLine(e); err != nil {
						return err
					}
					f.After = e.Seq
				}
				if len(page.Events) < f.Limit {
					return nil
				}
			}
		},
	}
	auditFlags(cmd, &f)
	cmd.Flags().Int64Var(&f.After, "after", 0, "only rows after this seq")
	return cmd
}

func (a *app) auditVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the trail's hash chain and name the first changed, inserted or deleted row",
		Long: `Have the server recompute every row's keyed hash from the first row kept to
the newest. It exits 0 when the chain is intact, else 1, naming the first row
changed, inserted or deleted. Keep the head hash it prints somewhere else: a
later verification that no longer reaches it shows rows were cut off the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			res, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				if err := a.printJSON(res); err != nil {
					return err
				}
				if !res.OK {
					return exitCode(1)
				}
				return nil
			}
			if !res.OK {
				msg := "the admin audit trail was tampered with"
				if res.Problem != nil {
					msg += ": " + res.Problem.Message
				}
				return errors.New(msg + " (" + strconv.FormatInt(res.Checked, 10) + " rows before it verified)")
			}
			fmt.Fprintf(a.out, "The admin audit trail is intact: %d rows verified (rows up to %d were removed by retention).\nHead: row %d, hash %s\n",
				res.Checked, res.CutSeq, res.HeadSeq, res.HeadHash)
			return nil
		},
	}
}

var auditHeader = []string{"SEQ", "TIME", "ACTOR", "ACTION", "VAULT", "TARGET", "SOURCE", "OUTCOME", "DETAIL"}

func auditRow(e apitype.AuditEvent) []string {
	row := []string{strconv.FormatInt(e.Seq, 10), e.Time.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action,
		e.Vault, e.Target, e.Source, e.Outcome, e.Detail}
	for i, s := range row {
		if s == "" {
			s = "-"
		}
		row[i] = cell(s)
	}
	return row
}
