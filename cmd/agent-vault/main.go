// Command agent-vault is the Agent Vault server and CLI.
package main

import (
	"context"
	"os"

	"github.com/agent-vault/agent-vault/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:]))
}
