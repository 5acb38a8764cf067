// Package broker holds Agent Vault's use cases: registering and logging in,
// managing vaults, members and invites, credentials, services, agents,
// proposals, and resolving what the proxy injects (view.go). It is the only caller of keyring and store for business
// operations; handlers in server call one broker method each. Methods take
// and return apitype bodies so that handlers stay thin, and return *errs.Error
// values whose messages are safe to show.
package broker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Options configure a Broker. Zero fields mean the defaults.
type Options struct {
	Store   store.Store      // required
	Keyring *keyring.Keyring // required for credential operations
	// PasswordParams are the Argon2id costs for new user password hashes.
	PasswordParams password.Params
	// BaseURL is the control plane's external URL, for links (invites).
	BaseURL string
	// Version is the binary's version, shown in /v1/status.
	Version string
	// Build is the binary's commit, shown in /v1/status; nil shows none.
	Build  *apitype.Build
	Logger *slog.Logger
	Now    func() time.Time
	// Mailer sends notification email; nil sends none.
	Mailer Mailer
	// OAuth posts token requests for OAuth credentials; nil means a zero
	// oauth.Client (every private range refused, system roots). Its Now,
	// when nil, is set to the broker's clock.
	OAuth *oauth.Client
	// OAuthSkew renews OAuth access tokens this long before they lapse;
	// 0 means DefaultOAuthSkew.
	OAuthSkew time.Duration
}

// Broker runs the use cases.
type Broker struct {
	st        store.Store
	kr        *keyring.Keyring
	pw        password.Params
	dummy     func() string // hash checked for unknown emails so they cost the same
	baseURL   string
	version   string
	build     *apitype.Build
	proxyPort atomic.Int64 // shown in /v1/status; 0 when the proxy is off
	// epoch counts committed writes; the proxy's in-memory view reloads
	// what it cached under an older epoch (see view.go).
	epoch atomic.Uint64
	view  view
	// firstRun guards the creation of the first account (firstrun.go).
	firstRun firstRun

	settingsHook     SettingsHook
	rateLimitsLocked bool
	log              *slog.Logger
	mailer           Mailer
	mail             mailState
	now              func() time.Time
	trailKey         trail.Key // the admin trail's chain key (see trail.go)
	failures         failureGate
	oauth            *oauth.Client
	oauthSkew        time.Duration
	flights          oauthFlights
	renewSlots       chan struct{}
	renewals         oauthCounters
}

// New builds a Broker from o.
func New(o Options) *Broker {
	if o.PasswordParams == (password.Params{}) {
		o.PasswordParams = password.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OAuth == nil {
		o.OAuth = &oauth.Client{}
	}
	if o.OAuth.Now == nil {
		o.OAuth.Now = o.Now
	}
	if o.OAuthSkew <= 0 {
		o.OAuthSkew = DefaultOAuthSkew
	}
	var tk trail.Key
	if o.Keyring != nil {
		tk = trail.NewKey(o.Keyring.Derive(trailKeyLabel))
	}
	return &Broker{
		trailKey: tk, oauth: o.OAuth, oauthSkew: o.OAuthSkew, flights: oauthFlights{m: map[string]*oauthFlight{}}, renewSlots: make(chan struct{}, maxConcurrentRenewals),
		st: o.Store, kr: o.Keyring, pw: o.PasswordParams,
		dummy:   sync.OnceValue(func() string { return password.Dummy(o.PasswordParams) }),
		baseURL: o.BaseURL, version: o.Version, build: o.Build,
		view: view{grants: map[[32]byte]grantEntry{}, vaults: map[string]*vaultView{}}, log: o.Logger, mailer: o.Mailer, now: func() time.Time { return o.Now().UTC() },
	}
}

// notFound maps store.ErrNotFound to a NotFound error with msg, and any
// other failure to an internal one.
func notFound(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFound(format, args...)
	}
	return errs.Internal(err, "reading the database")
}

// conflict maps store.ErrConflict to a Conflict error with msg.
func conflict(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrConflict) {
		return errs.Conflict(format, args...)
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Internal(err, "writing to the database")
}

// internal wraps err unless it is already a typed error.
func internal(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Internal(err, what)
}

// tx runs fn in a store transaction and then marks the data changed, so
// that the proxy's cached view is rebuilt before its next use.
func (b *Broker) tx(ctx context.Context, fn func(tx store.Store) error) error {
	err := b.st.InTx(ctx, fn)
	b.changed()
	return err
}

// changed invalidates everything the proxy view cached.
func (b *Broker) changed() { b.epoch.Add(1) }

// SetProxyPort records the broker proxy's port once it listens, for
// /v1/status (clients such as `agent-vault run` find the proxy there).
func (b *Broker) SetProxyPort(port int) { b.proxyPort.Store(int64(port)) }

// ProxyPort is the broker proxy's port, 0 while it does not listen.
func (b *Broker) ProxyPort() int { return int(b.proxyPort.Load()) }
