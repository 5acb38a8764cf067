package cli

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

func (a *app) vaultLogsCmd() *cobra.Command {
	var (
		f      client.LogFilter
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the vault's request log (what agents sent through the proxy)",
		Long: `Show the vault's latest request log rows (oldest of them first): time, actor,
method, host, path (never a query value), matched service, credential key names,
status, bytes and duration. --follow keeps printing new rows as they arrive.`,
		Args: cobra.NoArgs,
	}
	setup := a.vaultScoped(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, rv, err := setup()
		if err != nil {
			return err
		}
		if err := timeFlags(time.Now(), map[string]*string{"since": &f.Since}); err != nil {
			return err
		}
		out, err := c.RequestLogs(cmd.Context(), rv.Name, f)
		if err != nil {
			return err
		}
		// Oldest first reads naturally in a terminal and when following.
		rows := out.Logs
		slices.Reverse(rows)
		if !follow {
			return a.show(out, func(io.Writer) { a.logTable(rows) })
		}
		return followRows(cmd.Context(), time.Second, rows, func(r apitype.RequestLog) int64 { return r.ID },
			func(after int64) ([]apitype.RequestLog, error) {
				nf := f
				nf.Before, nf.After, nf.Limit = 0, after, 500
				more, err := c.RequestLogs(cmd.Context(), rv.Name, nf)
				return more.Logs, err
			},
			func(rows []apitype.RequestLog, header bool) { printStream(a, rows, header, logHeader, logRow) })
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Service, "service", "", "only this service")
	fl.StringVar(&f.Status, "status", "", "a status (403) or class (4xx)")
	fl.StringVar(&f.Actor, "actor", "", "only this actor (e.g. agent:bot)")
	fl.StringVar(&f.Host, "host", "", "only this host")
	fl.StringVar(&f.Since, "since", "", "from this time (2026-01-02T15:04:05Z) or this long ago (30m, 1h, 7d)")
	fl.IntVar(&f.Limit, "limit", 50, "rows to show (1-1000)")
	fl.Int64Var(&f.Before, "before", 0, "rows older than this id (the next_cursor of a previous page)")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new rows")
	cmd.AddCommand(&cobra.Command{
		Use:   "hosts",
		Short: "Hosts agents reached that no service matched (candidates for services)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, rv, err := setup()
			if err != nil {
				return err
			}
			out, err := c.DiscoveredHosts(cmd.Context(), rv.Name)
			if err != nil {
				return err
			}
			return a.show(out, func(io.Writer) {
				rows := [][]string{}
				for _, h := range out.Hosts {
					rows = append(rows, []string{h.Host, strconv.Itoa(h.Port), strconv.FormatInt(h.Count, 10), ts(h.LastSeen)})
				}
				a.table([]string{"HOST", "PORT", "REQUESTS", "LAST SEEN"}, rows)
			})
		},
	})
	return cmd
}

func logRow(r apitype.RequestLog) []string {
	svc := r.Service
	if svc == "" {
		svc = "-"
	}
	status := strconv.Itoa(r.Status)
	if r.ErrorCode != "" {
		status += " " + r.ErrorCode
	}
	return []string{r.Time.Local().Format("2006-01-02 15:04:05"), r.Actor, r.Method, r.Host, r.Path, svc, strings.Join(r.CredentialKeys, ","), status,
		strconv.FormatInt(r.ResponseBytes, 10), strconv.FormatInt(r.DurationMS, 10) + "ms"}
}

var logHeader = []string{"TIME", "ACTOR", "METHOD", "HOST", "PATH", "SERVICE", "CREDENTIALS", "STATUS", "BYTES", "DURATION"}

func (a *app) logTable(rows []apitype.RequestLog) {
	out := [][]string{}
	for _, r := range rows {
		out = append(out, logRow(r))
	}
	a.table(logHeader, out)
}
