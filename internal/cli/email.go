package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// emailCmd checks the server's SMTP settings (`email test`, docs/operations.md).
func (a *app) emailCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "email",
		Short: "Check the server's email (SMTP) settings",
	}
	var to string
	test := &cobra.Command{
		Use:   "test",
		Short: "Have the server send a test message (owners only), to you or to --to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.authed()
			if err != nil {
				return err
			}
			res, err := c.EmailTest(cmd.Context(), to)
			if err != nil {
				return err
			}
			return a.show(res, func(w io.Writer) {
				fmt.Fprintf(w, "The mail server accepted a test message to %s: check that inbox (and its spam folder).\n", res.To)
			})
		},
	}
	test.Flags().StringVar(&to, "to", "", "recipient (default: your own address)")
	cmd.AddCommand(test)
	return cmd
}
