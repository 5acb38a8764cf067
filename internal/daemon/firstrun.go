package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
)

// firstRun is the server's first-run gate: the one-time setup code that
// creating the first (owner) account needs, by any route (see
// broker/firstrun.go and docs/web.md, "First run").
type firstRun struct {
	code    string // "" when the instance had an account at start
	dataDir string
}

// armFirstRun arms the broker's first-run gate before the server serves
// anything. When the instance has no account yet it takes the operator's
// code (cfg.SetupCode) or makes a random one, prints it to the log (the
// terminal, for a server in the foreground) unless the operator chose it,
// and writes it to the data dir's setup-code file (mode 0600) for
// `agent-vault auth register` on this machine; the file goes once the
// owner exists and when the server stops. With an account the gate is
// closed and any stale file removed. listen is the bound address.
func armFirstRun(ctx context.Context, b *broker.Broker, cfg config.Server, listen string, log *slog.Logger) (*firstRun, error) {
	st, err := b.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading whether an account exists: %w", err)
	}
	fr := &firstRun{dataDir: cfg.DataDir}
	if !st.NeedsFirstUser {
		b.ArmFirstRun("", nil)
		fr.remove(log)
		return fr, nil
	}
	preset := cfg.SetupCode != ""
	fr.code = cfg.SetupCode
	if preset && len(broker.NormalizeSetupCode(fr.code)) < broker.MinSetupCodeLen {
		return nil, fmt.Errorf("%s is too short: use at least %d characters (not counting dashes and spaces), e.g. a random string from a password generator", config.EnvSetupCode, broker.MinSetupCodeLen)
	}
	if !preset {
		fr.code = broker.NewSetupCode()
	}
	if err := config.WriteSetupCode(cfg.DataDir, config.SetupCodeFile{Code: fr.code, Listen: listen, BaseURL: cfg.BaseURL}); err != nil {
		return nil, fmt.Errorf("writing the setup code file: %w", err)
	}
	b.ArmFirstRun(fr.code, func() {
		fr.remove(log)
		log.Info("first run: the owner account exists; the setup code is spent")
	})
	where := "open " + cfg.BaseURL + "/setup in a browser and enter "
	const then = " to create the owner account (or run `agent-vault auth register` on this machine: it reads the code from the data dir)"
	if preset {
		log.Warn("first run: no account exists yet; "+where+"the setup code you set in "+config.EnvSetupCode+then, "setup_code_file", config.SetupCodePath(cfg.DataDir))
	} else {
		log.Warn("first run: no account exists yet; "+where+"this one-time setup code"+then, "setup_code", fr.code, "setup_code_file", config.SetupCodePath(cfg.DataDir))
	}
	return fr, nil
}

// remove deletes the setup code file (at shutdown, and once the owner
// exists).
func (fr *firstRun) remove(log *slog.Logger) {
	if err := config.RemoveSetupCode(fr.dataDir); err != nil {
		log.Warn("could not remove the setup code file: delete it by hand", "path", config.SetupCodePath(fr.dataDir), "err", err)
	}
}
