// Package cli is the agent-vault command line: one file per command group.
// Every command that talks to a server goes through internal/client.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/sandbox"
	"github.com/agent-vault/agent-vault/internal/version"
)

// build is the running binary's build information.
var build = version.Get()

// app holds what every command shares: the global flags and the streams.
type app struct {
	address, dataDir string
	json             bool
	in               io.Reader
	out, errOut      io.Writer
}

// Run executes the CLI with args (without the program name) and returns
// the process exit code.
func Run(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == sandbox.InitArg {
		return sandbox.InitMain(args[1:]) // `run`'s sandbox, re-executed
	}
	a := &app{in: os.Stdin, out: os.Stdout, errOut: os.Stderr}
	return a.execute(ctx, args)
}

// execute runs one command line with a's streams and returns its exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	if err := root.ExecuteContext(ctx); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec) // a child's status, passed on silently
		}
		fmt.Fprintln(a.errOut, "error:", err)
		return 1
	}
	return 0
}

// exitCode lets a command choose its exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "agent-vault",
		Short:         "Credential broker for AI agents",
		Long:          "Agent Vault keeps API keys encrypted and injects them into agents' HTTP traffic, so agents never hold them.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       build.Short(),
		// An agent's token wins over any saved login (agentmode.go).
		PersistentPreRunE: refuseAgent,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.address, "address", "", "server URL (env AGENT_VAULT_ADDR; default http://127.0.0.1:14321)")
	pf.StringVar(&a.dataDir, "data-dir", "", "data directory (env AGENT_VAULT_DATA_DIR; default ~/.agent-vault)")
	pf.BoolVar(&a.json, "json", false, "print machine-readable JSON")
	root.AddCommand(
		a.serverCmd(), a.authCmd(), a.accountCmd(), a.vaultCmd(), a.userCmd(),
		a.ownerCmd(), a.masterPasswordCmd(), a.migrateDBCmd(), a.backupCmd(), a.healthCmd(), a.emailCmd(), a.versionCmd(), a.agentCmd(), a.catalogCmd(), a.caCmd(), a.runCmd(), a.doctorCmd(), a.auditCmd(),
	)
	a.addCompat(root)
	strictGroups(root)
	return root
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.json {
				return a.printJSON(build)
			}
			fmt.Fprintln(a.out, "agent-vault", build.Short(), build.GoVersion)
			return nil
		},
	}
}
