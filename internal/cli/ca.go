package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func (a *app) caCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "The broker proxy's root certificate"}
	var out string
	fetch := &cobra.Command{
		Use:   "fetch",
		Short: "Print (or save with -o) the root certificate agents must trust",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.anon()
			if err != nil {
				return err
			}
			pem, err := c.CAPEM(cmd.Context())
			if err != nil {
				return err
			}
			if out == "" {
				_, err = a.out.Write(pem)
				return err
			}
			if err := os.WriteFile(out, pem, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.errOut, "Wrote the Agent Vault CA to %s.\n", out)
			return nil
		},
	}
	fetch.Flags().StringVarP(&out, "output", "o", "", "file to write instead of standard output")
	cmd.AddCommand(fetch)
	return cmd
}
