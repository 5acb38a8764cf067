package broker

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/service"
)

// The proxy's view: what one proxied request needs (who is calling, which
// vault, its compiled services, its policy and its decrypted credentials),
// held in memory so that the hot path does no database work. Every
// committed write bumps the broker's epoch (Broker.tx, Broker.changed);
// an entry cached under an older epoch is rebuilt on its next use, so a
// revocation or a deleted credential takes effect on the very next request,
// open tunnels included. A multi-instance deployment can bump the epoch
// from a change feed (PostgreSQL LISTEN/NOTIFY) through Broker.Invalidate.

// maxGrantCacheEntries bounds the token cache; past it the cache is reset.
const maxGrantCacheEntries = 10000

// ProxyGrant is one caller's access to one vault, as the proxy uses it.
// It is immutable once built and shared between requests.
type ProxyGrant struct {
	ActorName string // for logs and messages; it changes on a rename
	ActorID   string // Actor.ID: what rate budgets are kept under
	ActorKind model.ActorKind
	VaultID   string
	VaultName string
	Role      model.VaultRole
	vault     *vaultView
	b         *Broker
}

// Policy is the vault's answer to traffic no service matches.
func (g *ProxyGrant) Policy() model.HostPolicy { return g.vault.policy }

// Services are the vault's compiled services, in declaration order.
func (g *ProxyGrant) Services() []service.Service { return g.vault.services }

// ServicesVersion changes whenever the vault's services are saved (a
// service added, edited or removed), and only then.
func (g *ProxyGrant) ServicesVersion() int64 { return g.vault.servicesVersion }

// Credential returns a decrypted value by key. The bytes are shared: the
// caller must not keep or modify them.
func (g *ProxyGrant) Credential(key string) ([]byte, bool) {
	v, ok := g.vault.creds[key]
	if !ok {
		return nil, false
	}
	return v.Reveal(), true
}

// ServiceKeys are the credential keys service i references, computed once
// per view (the request log records them for every request). Shared: the
// caller must not modify them.
func (g *ProxyGrant) ServiceKeys(i int) []string { return g.vault.keys[i] }

// UnboundKey names the first credential service i references whose
// binding does not cover the service's host pattern ("" when all do):
// the proxy refuses to inject into such a service, whatever put it in
// the store.
func (g *ProxyGrant) UnboundKey(i int) string { return g.vault.unbound[i] }

// Derived returns what build makes of service i, built once per view and
// shared by every request until the next change builds a new view (the
// proxy keeps the headers it injects and the values it redacts here).
// build must depend on nothing but this view's services and credentials,
// and its result must not be modified. Concurrent first calls may each
// build; one result is kept.
func (g *ProxyGrant) Derived(i int, build func() any) any {
	slot := &g.vault.derived[i]
	if v := slot.Load(); v != nil {
		return *v
	}
	v := build()
	if slot.CompareAndSwap(nil, &v) {
		return v
	}
	return *slot.Load()
}

// OAuthPending reports an OAuth credential approved but not connected yet.
func (g *ProxyGrant) OAuthPending(key string) bool { return g.vault.oauthPending[key] }

// IsOAuth reports an OAuth credential: the proxy gets its value from
// OAuthToken, not Credential.
func (g *ProxyGrant) IsOAuth(key string) bool {
	_, ok := g.vault.oauth[key]
	return ok
}

// OAuthToken returns the OAuth credential's access token to inject now:
// from memory while it is good for longer than the skew, else renewed
// (one renewal per credential at a time, see oauthrenew.go). The error is
// an *OAuthError when the credential cannot be injected. The bytes are
// shared: the caller must not keep or modify them.
func (g *ProxyGrant) OAuthToken(ctx context.Context, key string) ([]byte, error) {
	e, ok := g.vault.oauth[key]
	if !ok {
		return nil, notConnected(key)
	}
	now := g.b.now()
	switch {
	case e.status == oauth.StatusPending:
		return nil, notConnected(key)
	case e.status == oauth.StatusConnected && !e.access.IsEmpty() && (e.expires.IsZero() || now.Add(g.b.oauthSkew).Before(e.expires)):
		return e.access.Reveal(), nil
	case e.status == oauth.StatusRefreshFailed && now.Sub(e.failedAt) < oauthRetryAfterFailure:
		return nil, refreshFailed(key, e.lastError, "")
	}
	tok, err := g.b.renewOAuth(ctx, g.VaultID, key, e.access.Reveal(), false)
	if err != nil {
		return nil, err
	}
	return tok.Reveal(), nil
}

// OAuthRejected renews the OAuth credential after an upstream refused
// its token sent (401), unless it was renewed since, and returns the
// token to retry with. It returns sent itself, without asking the
// provider, when a 401 renewed this credential less than
// oauthMin401Interval ago and sent is still good (then do not retry).
func (g *ProxyGrant) OAuthRejected(ctx context.Context, key string, sent []byte) ([]byte, error) {
	if _, ok := g.vault.oauth[key]; !ok {
		return nil, notConnected(key)
	}
	tok, err := g.b.renewOAuth(ctx, g.VaultID, key, sent, true)
	if err != nil {
		return nil, err
	}
	return tok.Reveal(), nil
}

// vaultView is a vault's compiled contents at one epoch.
type vaultView struct {
	epoch           uint64
	policy          model.HostPolicy
	services        []service.Service
	servicesVersion int64 // raised by every save of the vault's services
	creds           map[string]secret.Bytes
	oauthPending    map[string]bool
	oauth           map[string]oauthEntry // every OAuth credential, by key
	keys            [][]string            // ReferencedKeys of each service
	unbound         []string              // per service, a key its binding does not cover
	derived         []atomic.Pointer[any] // per service, ProxyGrant.Derived
}

// oauthEntry is an OAuth credential's state in the view.
type oauthEntry struct {
	status    oauth.Status
	access    secret.Bytes // empty unless connected
	expires   time.Time
	failedAt  time.Time
	lastError string
}

type grantEntry struct {
	epoch   uint64
	expires time.Time // when the token itself lapses (zero: never)
	grant   *ProxyGrant
	err     error
}

// view caches grants by token and hint, and vault contents by vault id.
type view struct {
	mu     sync.Mutex
	grants map[[sha256.Size]byte]grantEntry
	vaults map[string]*vaultView
}

// Invalidate drops everything the proxy view cached (for change feeds from
// other instances; local writes do it themselves).
func (b *Broker) Invalidate() { b.changed() }

// ProxyAuthorize resolves proxy credentials (a token and an optional vault
// hint) to a grant on one vault, from memory when nothing changed since it
// was last built.
func (b *Broker) ProxyAuthorize(ctx context.Context, tok, hint string) (*ProxyGrant, error) {
	key := sha256.Sum256([]byte(tok + "\x00" + hint))
	epoch := b.epoch.Load()
	now := b.now()
	b.view.mu.Lock()
	e, ok := b.view.grants[key]
	b.view.mu.Unlock()
	if ok && e.epoch == epoch && (e.expires.IsZero() || now.Before(e.expires)) {
		return e.grant, e.err
	}
	g, expires, err := b.buildGrant(ctx, tok, hint, epoch)
	if err != nil && errs.KindOf(err) == errs.KindInternal {
		return nil, err // never cache a failure of our own
	}
	b.view.mu.Lock()
	if len(b.view.grants) >= maxGrantCacheEntries {
		clear(b.view.grants)
	}
	b.view.grants[key] = grantEntry{epoch: epoch, expires: expires, grant: g, err: err}
	b.view.mu.Unlock()
	return g, err
}

// buildGrant authenticates and authorizes from the store.
func (b *Broker) buildGrant(ctx context.Context, tok, hint string, epoch uint64) (*ProxyGrant, time.Time, error) {
	a, err := b.Authenticate(ctx, tok)
	if err != nil {
		return nil, time.Time{}, err
	}
	var expires time.Time
	if a.Scope != nil {
		expires = a.Scope.ExpiresAt
	}
	name, err := b.AgentVault(ctx, a, hint)
	if err != nil {
		return nil, expires, err
	}
	v, role, err := b.vaultAuthorized(ctx, b.st, a, name, policy.ProxyThroughVault)
	if err != nil {
		return nil, expires, err
	}
	vv, err := b.vaultContents(ctx, v, epoch)
	if err != nil {
		return nil, expires, err
	}
	return &ProxyGrant{ActorName: a.Name(), ActorID: a.ID(), ActorKind: a.Kind, VaultID: v.ID, VaultName: v.Name, Role: role, vault: vv, b: b}, expires, nil
}

// vaultContents returns the vault's compiled view, rebuilding it when it
// was built under an older epoch.
func (b *Broker) vaultContents(ctx context.Context, v model.Vault, epoch uint64) (*vaultView, error) {
	b.view.mu.Lock()
	vv, ok := b.view.vaults[v.ID]
	b.view.mu.Unlock()
	if ok && vv.epoch == epoch {
		return vv, nil
	}
	svcs, svcsVersion, err := loadServiceSet(ctx, b.st, v.ID)
	if err != nil {
		return nil, err
	}
	cs, err := b.st.Credentials().List(ctx, v.ID)
	if err != nil {
		return nil, internal(err, "listing credentials")
	}
	creds := make(map[string]secret.Bytes, len(cs))
	pending := map[string]bool{}
	oauths := map[string]oauthEntry{}
	for _, c := range cs {
		val, err := b.kr.Open(c.Ciphertext, credentialAD(v.ID, c.Key))
		if err != nil {
			return nil, errs.Internal(err, "decrypting credential "+c.Key)
		}
		if c.Type == model.CredentialOAuth {
			st, err := oauth.ParseStored(val.Reveal())
			val.Wipe()
			if err != nil {
				return nil, errs.Internal(err, "reading OAuth credential "+c.Key)
			}
			e := oauthEntry{status: st.Status, expires: st.ExpiresAt, failedAt: st.LastErrorAt, lastError: st.LastError}
			if st.Status == oauth.StatusConnected && st.AccessToken != "" {
				e.access = secret.FromString(st.AccessToken)
				creds[c.Key] = e.access
			} else if st.Status != oauth.StatusRefreshFailed {
				e.status = oauth.StatusPending
				pending[c.Key] = true
			}
			oauths[c.Key] = e
			continue
		}
		creds[c.Key] = val
	}
	ix, err := loadBindingPatterns(ctx, b.st, v.ID)
	if err != nil {
		return nil, err
	}
	keys := make([][]string, len(svcs))
	unbound := make([]string, len(svcs))
	for i, s := range svcs {
		keys[i] = s.ReferencedKeys()
		for _, k := range keys[i] {
			if !ix.covers(k, s.Pattern) {
				unbound[i] = k
				break
			}
		}
	}
	vv = &vaultView{epoch: epoch, policy: v.UnmatchedHostPolicy, services: svcs, servicesVersion: svcsVersion, creds: creds, oauthPending: pending, oauth: oauths, keys: keys, unbound: unbound,
		derived: make([]atomic.Pointer[any], len(svcs))}
	b.view.mu.Lock()
	b.view.vaults[v.ID] = vv
	b.view.mu.Unlock()
	return vv, nil
}
