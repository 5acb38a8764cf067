package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/web"
)

// firstRunCode returns the one-time code of the browser's first-run page
// and prints it to the log (the terminal, for a server in the
// foreground) when the instance has no account yet; otherwise "" (the
// page is off). Whoever can read this server's output runs it, so the
// code proves that the browser creating the owner account is theirs.
func firstRunCode(ctx context.Context, b *broker.Broker, baseURL string, log *slog.Logger) (string, error) {
	st, err := b.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("reading whether an account exists: %w", err)
	}
	if !st.NeedsFirstUser {
		return "", nil
	}
	code := web.NewSetupCode()
	log.Warn("first run: no account exists yet; open "+baseURL+"/setup in a browser and enter this one-time setup code to create the owner account (or run `agent-vault auth register` here)", "setup_code", code)
	return code, nil
}
