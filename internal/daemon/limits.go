package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// limits is the instance's rate limiter and the proxies trusted to name
// the client address.
type limits struct {
	lim     *ratelimit.Limiter
	trusted []netip.Prefix
}

// buildLimits reads the rate-limit settings (SPEC §7, §11).
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
	return limits{lim: lim, trusted: trusted}, nil
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
