// Package daemon wires Agent Vault together from its configuration and
// runs it: data dir, database, keyring, broker, HTTP server, pid file,
// signals and graceful shutdown.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/audit"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/metrics"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
	"github.com/agent-vault/agent-vault/internal/server"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/version"
	"github.com/agent-vault/agent-vault/internal/web"
)

// shutdownGrace bounds how long in-flight requests may take after a signal.
const shutdownGrace = 30 * time.Second

// Options configure Run.
type Options struct {
	Config   config.Server
	Password PasswordFunc
	Log      io.Writer    // where structured logs go
	Build    version.Info // the running binary's, for /v1/status and metrics
	// Ready, when set, is called with the bound listen address once the
	// server accepts connections.
	Ready func(addr string)
}

// Run starts the server and blocks until ctx is cancelled (a signal), then
// drains in-flight requests and closes the database. Whatever the start
// opened is closed when Run returns, also when the start fails half-way.
func Run(ctx context.Context, o Options) error {
	var own owner
	defer own.close()
	// The background loops end with Run, before what they use is closed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := start(ctx, o, &own)
	if err != nil {
		return err
	}
	return d.serve(ctx)
}

// running is a started server, ready to serve.
type running struct {
	log       *slog.Logger
	srv       *http.Server
	ln        net.Listener
	b         *broker.Broker
	stopProxy func(context.Context)
}

// start opens, in order, the pid file, the database and keyring, the
// listener, the request log, metrics and the proxy, and starts the
// background loops; each is registered with own as it is opened.
func start(ctx context.Context, o Options, own *owner) (*running, error) {
	cfg := o.Config
	log := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err := config.EnsureDir(cfg.DataDir); err != nil {
		return nil, err
	}
	pid, err := claimPIDFile(cfg.PIDPath())
	if err != nil {
		return nil, err
	}
	own.onClose(pid.release)
	db, kr, initDone, err := openStore(ctx, cfg.Database, o.Password, log)
	if err != nil {
		return nil, err
	}
	initDone = sync.OnceFunc(initDone)
	own.onClose(initDone)
	own.onClose(func() {
		if err := db.Close(); err != nil {
			log.Error("closing the database", "err", err)
		}
	})
	ln, err := net.Listen("tcp", cfg.Listen())
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (%v): is another server running? pick another port with --port", cfg.Listen(), err)
	}
	own.onClose(func() { _ = ln.Close() })
	if !cfg.BaseURLSet {
		cfg.BaseURL = "http://" + ln.Addr().String() // --port 0 picked a free port
	}
	mailer, mailTo, err := newMailer(cfg.SMTP)
	if err != nil {
		return nil, err
	}
	if mailer != nil {
		log.Info("email notifications on", "smtp", mailTo)
		if !cfg.BaseURLSet {
			log.Warn("emailed links point at " + cfg.BaseURL + ", which recipients on other machines cannot open: set --address (AGENT_VAULT_ADDR) to the URL people reach this server at")
		}
	}
	oc, err := oauthClient(cfg)
	if err != nil {
		return nil, err
	}
	b := broker.New(broker.Options{Store: db, Keyring: kr, BaseURL: cfg.BaseURL, Version: o.Build.Ident(), Build: statusBuild(o.Build), Logger: log, Mailer: mailer, OAuth: oc})
	if err := b.Bootstrap(ctx); err != nil {
		return nil, err
	}
	root, err := loadCA(ctx, db, kr)
	if err != nil {
		return nil, err
	}
	initDone() // the keyring, default vault and CA exist: other servers may start
	lim, err := startLimits(ctx, db, log)
	if err != nil {
		return nil, err
	}
	reqlog, err := startRequestLog(ctx, cfg, own, log)
	if err != nil {
		return nil, err
	}
	reapply := applySettings(ctx, b, cfg, lim, reqlog, log)
	// On a database other servers share, their changes reach this one's
	// proxy view and settings through the change counter, read once
	// before serving so that no change slips between.
	if db.Shared() {
		epoch, err := db.ChangeEpoch(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the change counter: %w", err)
		}
		go watchChanges(ctx, db, epoch, b, reapply, log)
	}
	met, err := startMetrics(cfg, o.Build, b, lim, reqlog, own, log)
	if err != nil {
		return nil, err
	}
	fr, err := armFirstRun(ctx, b, cfg, ln.Addr().String(), log)
	if err != nil {
		return nil, err
	}
	if fr.code != "" {
		own.onClose(func() { fr.remove(log) }) // a code left unused dies with the process
	}
	var proxyServing atomic.Bool
	stopProxy, proxyAddr, err := startProxy(cfg, b, root, reqlog, met, lim, &proxyServing, log)
	if err != nil {
		return nil, err
	}
	var stopOnce sync.Once
	stopProxyOnce := func(ctx context.Context) { stopOnce.Do(func() { stopProxy(ctx) }) }
	own.onClose(func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		stopProxyOnce(sctx)
	})
	srv := &http.Server{
		Handler: server.New(server.Options{Broker: b, Logger: log, CAPEM: root.CertPEM(), Limiter: lim.lim, TrustedProxies: lim.trusted,
			Ready: readyChecks(db, kr, cfg.MITMPort >= 0, &proxyServing),
			Web:   web.New(web.Options{Broker: b, BaseURL: cfg.BaseURL, Logger: log, Limiter: lim.lim, TrustedProxies: lim.trusted})}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if err := pid.write(); err != nil {
		return nil, err
	}
	go sweep(ctx, b, log)
	go pruneLogs(ctx, reqlog, log)
	log.Info("agent vault listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "database", cfg.Database.String(), "version", o.Build.Short())
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	if _, p, err := net.SplitHostPort(proxyAddr); err == nil {
		port, _ := strconv.Atoi(p)
		b.SetProxyPort(port)
	}
	return &running{log: log, srv: srv, ln: ln, b: b, stopProxy: stopProxyOnce}, nil
}

// startLimits builds the rate limiter, shares its proxy budgets with the
// other servers on a shared database, and starts its sweeps.
func startLimits(ctx context.Context, db *sqlstore.DB, log *slog.Logger) (limits, error) {
	lim, err := buildLimits()
	if err != nil {
		return limits{}, err
	}
	if rb := db.RateBudgets(); rb != nil {
		// Servers on one database share each agent's proxy budget.
		lim.lim.SetShared(rb, sharedBudgetErrors(log))
		go pruneRateBudgets(ctx, rb, log)
	}
	go sweepLimits(ctx, lim.lim, log)
	return lim, nil
}

// startRequestLog opens the request log. It writes through a database
// pool of its own that commits without waiting for the disk (under
// SQLite's WAL a crashed process still loses nothing); credentials keep
// full sync on the main pool.
func startRequestLog(ctx context.Context, cfg config.Server, own *owner, log *slog.Logger) (*audit.Log, error) {
	logDB, err := openDatabase(ctx, cfg.Database, true)
	if err != nil {
		return nil, err
	}
	own.onClose(func() { _ = logDB.Close() })
	reqlog := audit.New(audit.Options{Store: logDB, MaxAge: cfg.LogsMaxAge, MaxRowsPerVault: cfg.LogsMaxRows, Logger: log})
	own.onClose(reqlog.Close) // after the proxy stopped: every row it recorded is written
	return reqlog, nil
}

// startMetrics serves the Prometheus metrics on --metrics-addr; nil (and
// no listener) without one.
func startMetrics(cfg config.Server, build version.Info, b *broker.Broker, lim limits, reqlog *audit.Log, own *owner, log *slog.Logger) (*metrics.Metrics, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	met := metrics.NewBuild(metrics.Build{Version: build.Ident(), Commit: build.Commit, Modified: build.Modified})
	met.RequestLog(reqlog.Dropped, reqlog.Written)
	met.RateLimits(rateLimitStats(lim.lim))
	met.OAuthRefreshes(func() []metrics.OAuthRefresh {
		rs := b.OAuthRenewals()
		out := make([]metrics.OAuthRefresh, len(rs))
		for i, r := range rs {
			out[i] = metrics.OAuthRefresh{Grant: r.Grant, Trigger: r.Trigger, Outcome: r.Outcome, N: r.N}
		}
		return out
	})
	stopMetrics, _, err := met.Start(cfg.MetricsAddr, log)
	if err != nil {
		return nil, err
	}
	own.onClose(func() { // the final counts stay scrapable until the proxy has stopped
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopMetrics(sctx)
	})
	return met, nil
}

// serve answers on the listener until ctx is cancelled, then lets
// in-flight requests, the proxy's streams and emails finish.
func (d *running) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- d.srv.Serve(d.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	d.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := d.srv.Shutdown(sctx); err != nil {
		d.log.Warn("in-flight requests did not finish in time", "err", err)
	}
	d.stopProxy(sctx)
	if !d.b.WaitForMail(sctx) {
		d.log.Warn("emails still being sent were abandoned at shutdown")
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	d.log.Info("stopped")
	return nil
}

// sweep runs the broker's housekeeping hourly.
func sweep(ctx context.Context, b *broker.Broker, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := b.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("housekeeping", "err", err)
		} else if n.ExpiredSessions > 0 || n.ExpiredVaultSessions > 0 {
			log.Debug("swept expired sessions", "count", n.ExpiredSessions, "vault_sessions", n.ExpiredVaultSessions)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneLogs applies request log retention every ten minutes.
func pruneLogs(ctx context.Context, l *audit.Log, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := l.Prune(ctx); err != nil && ctx.Err() == nil {
			log.Warn("pruning the request log", "err", err)
		} else if n > 0 {
			log.Debug("pruned request log rows", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rateLimitStats reads the limiter's counters for the metrics, by tier name.
func rateLimitStats(l *ratelimit.Limiter) func() metrics.RateLimitStats {
	if l == nil {
		return nil
	}
	return func() metrics.RateLimitStats {
		st := l.Stats()
		out := metrics.RateLimitStats{Denied: map[string]uint64{}, Keys: map[string]int{}, Evicted: st.Evicted, InFlight: st.InFlight}
		for t, n := range st.Denied {
			out.Denied[t.String()] = n
		}
		for t, n := range st.Keys {
			out.Keys[t.String()] = n
		}
		return out
	}
}

// statusBuild is the commit part of b for /v1/status; nil when the build
// recorded none.
func statusBuild(b version.Info) *apitype.Build {
	if b.Commit == "" {
		return nil
	}
	return &apitype.Build{Commit: b.Commit, Time: b.Time, Modified: b.Modified}
}
