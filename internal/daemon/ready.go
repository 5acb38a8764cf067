package daemon

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/server"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// readyProbe is sealed and opened by the keyring check: a fixed,
// non-secret value.
var readyProbe = []byte("agent-vault readiness probe")

// readyChecks are what GET /readyz checks: the database answers, the
// keyring seals and opens, and the broker proxy (unless disabled) serves.
func readyChecks(db *sqlstore.DB, kr *keyring.Keyring, proxyOn bool, proxyServing *atomic.Bool) []server.ReadyCheck {
	checks := []server.ReadyCheck{
		{Name: "store", Check: db.Ping},
		{Name: "keyring", Check: func(context.Context) error {
			ct, err := kr.Seal(secret.New(bytes.Clone(readyProbe)), []byte("readyz"))
			if err != nil {
				return err
			}
			pt, err := kr.Open(ct, []byte("readyz"))
			if err != nil {
				return err
			}
			defer pt.Wipe()
			if !bytes.Equal(pt.Reveal(), readyProbe) {
				return errors.New("the keyring does not give back what it sealed")
			}
			return nil
		}},
	}
	if proxyOn {
		checks = append(checks, server.ReadyCheck{Name: "proxy", Check: func(context.Context) error {
			if !proxyServing.Load() {
				return errors.New("the broker proxy is not accepting connections")
			}
			return nil
		}})
	}
	return checks
}
