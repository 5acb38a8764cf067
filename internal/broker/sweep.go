package broker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Swept counts what one Sweep removed or closed.
type Swept struct {
	ExpiredProposals  int64
	ResetCodes        int64
	VerificationCodes int64
	AuditRows         int64
	ExpiredSessions   int64
	// ExpiredVaultSessions counts vault (scoped) sessions past their
	// lifetime: they no longer authenticate, and nothing reads them after.
	ExpiredVaultSessions int64
	OAuthFlows           int64 // authorization-code flows never finished
}

// codeLifetime is how long password reset and email verification codes
// are kept after they were made (they stop working sooner).
const codeLifetime = time.Hour

// Sweep is the periodic housekeeping the daemon runs: overdue proposals
// become expired, used-up reset and verification codes, expired login and
// vault sessions and OAuth flows are deleted (a flow's row holds its sealed
// client secret and PKCE verifier), and the admin audit trail's
// retention applies.
// Every step runs even when an earlier one fails; the error joins each
// failure, naming its step.
func (b *Broker) Sweep(ctx context.Context) (Swept, error) {
	var out Swept
	var errList []error
	step := func(what string, n *int64, run func() (int64, error)) {
		v, err := run()
		*n = v
		if err != nil {
			errList = append(errList, fmt.Errorf("%s: %w", what, err))
		}
	}
	now := b.now().UTC()
	step("expiring proposals", &out.ExpiredProposals, func() (int64, error) { return b.ExpireProposals(ctx) })
	step("sweeping password reset codes", &out.ResetCodes, func() (int64, error) {
		return b.st.PasswordResets().DeleteCreatedBefore(ctx, now.Add(-codeLifetime))
	})
	step("sweeping email verification codes", &out.VerificationCodes, func() (int64, error) {
		return b.st.EmailVerifications().DeleteCreatedBefore(ctx, now.Add(-codeLifetime))
	})
	step("applying the admin audit trail's retention", &out.AuditRows, func() (int64, error) { return b.PruneAudit(ctx) })
	step("sweeping expired sessions", &out.ExpiredSessions, func() (int64, error) { return b.st.Sessions().DeleteExpired(ctx, now) })
	step("sweeping expired vault sessions", &out.ExpiredVaultSessions, func() (int64, error) { return b.st.ScopedSessions().DeleteExpired(ctx, now) })
	step("sweeping expired OAuth flows", &out.OAuthFlows, func() (int64, error) { return b.st.OAuthStates().DeleteExpired(ctx, now) })
	return out, errors.Join(errList...)
}
