package daemon

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/ca"
	"github.com/agent-vault/agent-vault/internal/config"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/metrics"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/netguard"
	"github.com/agent-vault/agent-vault/internal/proxy"
	"github.com/agent-vault/agent-vault/internal/store"
)

// loadCA returns the instance's root CA, creating and storing it on the
// first start (its key sealed with the DEK).
func loadCA(ctx context.Context, st store.Store, kr *keyring.Keyring) (*ca.Root, error) {
	s, ok, err := st.CA().Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the proxy CA: %w", err)
	}
	if ok {
		root, err := ca.LoadRoot(kr, ca.Stored{CertPEM: s.CertPEM, SealedKey: s.SealedKey})
		if err != nil {
			return nil, fmt.Errorf("opening the proxy CA: %w", err)
		}
		return root, nil
	}
	now := time.Now().UTC()
	root, stored, err := ca.NewRoot(kr, now)
	if err != nil {
		return nil, fmt.Errorf("creating the proxy CA: %w", err)
	}
	if err := st.CA().Create(ctx, model.CAState{CertPEM: stored.CertPEM, SealedKey: stored.SealedKey, CreatedAt: now}); err != nil {
		return nil, fmt.Errorf("saving the proxy CA: %w", err)
	}
	return root, nil
}

// upstreamRoots are the system roots plus the operator's bundle. Without
// a bundle it is nil, which crypto/tls reads as the system roots, loaded
// on the first upstream handshake: reading and parsing them (about 140
// files here) would otherwise delay the proxy's listener at every start
// and keep a megabyte or two resident on servers that never use them.
func upstreamRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the upstream CA bundle: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the upstream CA bundle %s holds no PEM certificate", file)
	}
	return pool, nil
}

// startProxy builds the broker proxy and starts its listener; it returns
// a stop function. A disabled proxy (--mitm-port 0) returns a no-op. With
// metrics (met not nil) every request log row is counted on its way to rec.
func startProxy(cfg config.Server, b *broker.Broker, root *ca.Root, rec proxy.Recorder, met *metrics.Metrics, lim limits, serving *atomic.Bool, log *slog.Logger) (func(context.Context), string, error) {
	if cfg.MITMPort < 0 {
		log.Info("broker proxy disabled (--mitm-port 0)")
		return func(context.Context) {}, "", nil
	}
	allow, err := netguard.ParseAllowlist(cfg.NetworkAllowlist)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", config.EnvAllowlist, err)
	}
	roots, err := upstreamRoots(cfg.UpstreamCAFile)
	if err != nil {
		return nil, "", err
	}
	var extra []string
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
		extra = append(extra, u.Hostname())
	}
	minter, err := ca.NewMinter(root, ca.MinterOptions{ExtraSANs: extra})
	if err != nil {
		return nil, "", err
	}
	met.LeafCache(func() metrics.LeafStats {
		s := minter.Stats()
		return metrics.LeafStats{Hits: s.Hits, Mints: s.Mints, Shared: s.Shared, Evictions: s.Evictions, Entries: s.Entries}
	})
	dialer := &netguard.Dialer{Policy: netguard.Policy{AllowPrivate: cfg.AllowPrivate, Allow: allow}, Resolver: net.DefaultResolver}
	p := proxy.New(proxy.Options{
		Authority: b, Certs: minter, Dial: dialer.DialContext,
		Blocked: func(err error) bool {
			var be *netguard.BlockedError
			return errors.As(err, &be)
		},
		UpstreamRoots: roots, MaxRequestBytes: cfg.MaxRequestBytes, MaxResponseBytes: cfg.MaxResponseBytes,
		Logger: log, Recorder: met.Recorder(rec), Limiter: lim.lim, TrustedProxies: lim.trusted,
		Conns: proxy.ConnLimits{
			IdleTimeout: cfg.ProxyConns.IdleTimeout, BodyTimeout: cfg.ProxyConns.BodyTimeout, StreamIdleTimeout: cfg.ProxyConns.StreamIdleTimeout,
			MaxConnsPerIP: cfg.ProxyConns.MaxConnsPerIP, MaxConns: cfg.ProxyConns.MaxConns,
		},
	})
	met.Redactions(func() metrics.RedactionStats {
		s := p.RedactionStats()
		return metrics.RedactionStats{Header: s.Header, Body: s.Body, WebSocket: s.WebSocket, Refused: s.Refused}
	})
	ln, err := net.Listen("tcp", cfg.MITMListen())
	if err != nil {
		return nil, "", fmt.Errorf("cannot listen for the broker proxy on %s (%v): pick another port with --mitm-port, or 0 to disable it", cfg.MITMListen(), err)
	}
	// Connection caps and idle timeouts first, then the metrics' count.
	ln, connState := met.TrackTunnels(p.Listen(ln))
	srv := p.Server()
	srv.ConnState = connState
	serving.Store(true)
	go func() {
		_ = srv.Serve(ln)
		serving.Store(false)
	}()
	log.Info("broker proxy listening", "addr", ln.Addr().String(), "allow_private", cfg.AllowPrivate)
	return func(ctx context.Context) {
		serving.Store(false)
		_ = srv.Shutdown(ctx)
		_ = ln.Close() // Serve may not have taken it yet
		_ = p.Close()
	}, ln.Addr().String(), nil
}
