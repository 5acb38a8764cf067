package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/agent-vault/agent-vault/internal/audit"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
)

// limits is the instance's rate limiter and the proxies trusted to name
// the client address.
type limits struct {
	lim       *ratelimit.Limiter
	trusted   []netip.Prefix
	overrides map[ratelimit.Tier]ratelimit.Limits // from the environment
}

// buildLimits reads the rate-limit settings (docs/security-model.md, "Rate
// limits"; docs/operations.md, "Settings").
func buildLimits() (limits, error) {
	rl, err := config.LoadRateLimits(nil)
	if err != nil {
		return limits{}, err
	}
	lim, err := ratelimit.New(rl.Options)
	if err != nil {
		return limits{}, err
	}
	trusted, err := ratelimit.ParseTrustedProxies(rl.TrustedProxies)
	if err != nil {
		return limits{}, err
	}
	return limits{lim: lim, trusted: trusted, overrides: rl.Options.Limits}, nil
}

// sweepLimits drops idle rate-limit state every minute.
func sweepLimits(ctx context.Context, l *ratelimit.Limiter, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n := l.Sweep(now); n > 0 {
				log.Debug("dropped idle rate-limit keys", "count", n)
			}
		}
	}
}

// settingsHook applies instance settings to the running server: request
// log retention at once, and the rate-limit profile (on top of the
// environment's per-tier overrides) unless the limits are locked.
func settingsHook(cfg config.Server, lim limits, reqlog *audit.Log) broker.SettingsHook {
	// One application at a time: an update, its undoing and a re-apply for
	// another server's change must not interleave.
	var mu sync.Mutex
	return func(s model.Settings) error {
		mu.Lock()
		defer mu.Unlock()
		age, rows := cfg.LogsMaxAge, cfg.LogsMaxRows
		if s.LogMaxAgeHours > 0 {
			age = time.Duration(s.LogMaxAgeHours) * time.Hour
		}
		if s.LogMaxRowsPerVault > 0 {
			rows = s.LogMaxRowsPerVault
		}
		reqlog.SetRetention(age, rows)
		if (s.RateLimitProfile != "" || len(s.RateLimitOverrides) > 0) && !lim.lim.Locked() {
			profile := lim.lim.Settings().Profile
			if s.RateLimitProfile != "" {
				profile = ratelimit.Profile(s.RateLimitProfile)
			}
			fromSettings, err := s.RateLimitOverrides.Limits()
			if err != nil {
				return err
			}
			if err := lim.lim.Update(profile, ratelimit.Merge(lim.overrides, fromSettings), 0); err != nil {
				return err
			}
		}
		return nil
	}
}

// applySettings installs the hook and applies the stored settings once;
// it returns what applies them again (after another server changed them),
// which only reads the settings and calls the hook.
func applySettings(ctx context.Context, b *broker.Broker, cfg config.Server, lim limits, reqlog *audit.Log, log *slog.Logger) (reapply func()) {
	hook := settingsHook(cfg, lim, reqlog)
	b.SetRateLimitsLocked(lim.lim.Locked())
	b.SetSettingsHook(hook)
	reapply = func() {
		s, err := b.Settings(ctx)
		if err == nil {
			err = hook(s)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("applying the stored instance settings", "err", err)
		}
	}
	reapply()
	return reapply
}

// sharedBudgetErrors logs failures of the shared rate budget at most once
// a minute: each failed request falls back to this server's own budget.
func sharedBudgetErrors(log *slog.Logger) func(error) {
	var mu sync.Mutex
	var last time.Time
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		log.Warn("the shared rate budget is unavailable: proxied requests are limited by this server's own budget until the database answers", "err", err)
	}
}

// pruneRateBudgets deletes long-recovered shared budgets every ten minutes.
func pruneRateBudgets(ctx context.Context, rb *sqlstore.RateBudgets, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := rb.Prune(ctx, time.Hour); err != nil && ctx.Err() == nil {
				log.Warn("pruning shared rate budgets", "err", err)
			}
		}
	}
}
