package broker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/oauth"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
)

// OAuth renewal: the proxy asks for a credential's access token on every
// request that injects it; while the token is good for longer than the
// skew it comes from memory. When it is due (or an upstream refused it
// with 401), one renewal runs per credential: within a server, callers
// join the flight in progress; across servers, the flight holds a lock
// named after the credential (store.LockName: a PostgreSQL advisory lock)
// and re-reads the credential under it, so that a server finding tokens
// another renewed meanwhile uses them instead of asking the provider
// again. The new tokens (access and rotated refresh token together) are
// sealed in one write. A failed renewal drops the access token: the proxy
// then answers oauth_refresh_failed, never with a stale token.

// Defaults of OAuth renewal.
const (
	// DefaultOAuthSkew renews an access token this long before it lapses.
	DefaultOAuthSkew = 60 * time.Second
	// oauthRetryAfterFailure keeps a failed credential from asking the
	// provider again on every proxied request.
	oauthRetryAfterFailure = 30 * time.Second
	// oauthMin401Interval spaces the renewals upstream 401s set off for
	// one credential in a server: an agent that keeps calling an endpoint
	// answering 401 whatever the token must not make the vault hammer the
	// provider's token endpoint (and burn rotating refresh tokens). Within
	// it, a 401 to the current token is passed to the agent as it is.
	oauthMin401Interval = 30 * time.Second
	// oauthRenewTimeout bounds one renewal, lock wait included.
	oauthRenewTimeout = 45 * time.Second
	// maxConcurrentRenewals bounds the renewals (of different
	// credentials) one server runs at once: each holds a database
	// connection for its lock on PostgreSQL.
	maxConcurrentRenewals = 4
)

// OAuthError says why the proxy cannot inject an OAuth credential. Its
// message and hint hold no secret.
type OAuthError struct {
	Code    string // oauth_not_connected or oauth_refresh_failed
	Key     string
	Message string
	Hint    string
}

func (e *OAuthError) Error() string { return e.Message }

func notConnected(key string) *OAuthError {
	return &OAuthError{Code: "oauth_not_connected", Key: key,
		Message: "credential " + key + " is an OAuth credential that is not connected yet",
		Hint:    "ask a vault member to connect it (agent-vault vault credential oauth connect, or upload tokens with agent-vault vault credential oauth tokens)"}
}

func refreshFailed(key, why, hint string) *OAuthError {
	if hint == "" {
		hint = "ask a vault member to reconnect it or upload fresh tokens (agent-vault vault credential oauth tokens); see agent-vault vault credential oauth status"
	}
	return &OAuthError{Code: "oauth_refresh_failed", Key: key, Message: "the OAuth token of credential " + key + " could not be renewed: " + why, Hint: hint}
}

// oauthFlights runs at most one renewal per credential at a time in this
// server; later callers wait for its result.
type oauthFlights struct {
	mu sync.Mutex
	m  map[string]*oauthFlight
	// forcedAt is when a 401 last made this server ask the provider for
	// a credential's token.
	forcedAt map[string]time.Time
}

// tryForce reports whether a 401-triggered renewal of id may ask the
// provider at now, and if so records it.
func (f *oauthFlights) tryForce(id string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if last, ok := f.forcedAt[id]; ok && now.Sub(last) < oauthMin401Interval && !now.Before(last) {
		return false
	}
	if f.forcedAt == nil {
		f.forcedAt = map[string]time.Time{}
	}
	f.forcedAt[id] = now
	return true
}

type oauthFlight struct {
	done chan struct{}
	tok  secret.Bytes
	err  error
}

// renewOAuth returns a good access token for the credential, renewing it
// when it is due, or when force is set and the stored token is still the
// one an upstream refused (seen).
func (b *Broker) renewOAuth(ctx context.Context, vaultID, key string, seen []byte, force bool) (secret.Bytes, error) {
	id := vaultID + "\x00" + key
	for joined := 0; ; joined++ {
		b.flights.mu.Lock()
		f, ok := b.flights.m[id]
		if !ok {
			break // b.flights.mu stays locked for the new flight
		}
		b.flights.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return secret.Bytes{}, refreshFailed(key, "the request ended while the token was being renewed", "")
		}
		// A flight that found the token still good may return the very
		// token an upstream just refused: then renew in a flight of our
		// own (once).
		if force && f.err == nil && f.tok.Equal(secret.New(seen)) && joined == 0 {
			continue
		}
		return f.tok, f.err
	}
	f := &oauthFlight{done: make(chan struct{})}
	b.flights.m[id] = f
	b.flights.mu.Unlock()
	defer func() {
		b.flights.mu.Lock()
		delete(b.flights.m, id)
		b.flights.mu.Unlock()
		close(f.done)
	}()
	// The renewal outlives the request that started it: others wait for
	// it, and a rotated refresh token the provider already issued must be
	// stored whatever happens to this request.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), oauthRenewTimeout)
	defer cancel()
	select {
	case b.renewSlots <- struct{}{}:
		defer func() { <-b.renewSlots }()
		f.tok, f.err = b.renewLocked(rctx, vaultID, key, seen, force)
	case <-rctx.Done():
		f.err = refreshFailed(key, "too many OAuth renewals are running on this server", "try again shortly")
	}
	return f.tok, f.err
}

// renewLocked renews under the credential's cross-server lock.
func (b *Broker) renewLocked(ctx context.Context, vaultID, key string, seen []byte, force bool) (secret.Bytes, error) {
	unlock, err := b.st.LockName(ctx, "oauth:"+vaultID+":"+key)
	if err != nil {
		b.log.Warn("oauth renewal: lock failed", "key", key, "err", err)
		return secret.Bytes{}, refreshFailed(key, "the database did not answer", "try again shortly")
	}
	defer unlock()
	s, ok, err := b.loadOAuth(ctx, b.st, vaultID, key)
	if err != nil || !ok {
		if err == nil {
			err = errs.NotFound("credential %s no longer exists", key)
		}
		return secret.Bytes{}, err
	}
	now := b.now()
	if s.Status == oauth.StatusPending || (s.AccessToken == "" && !s.CanRenew() && s.Status != oauth.StatusRefreshFailed) {
		return secret.Bytes{}, notConnected(key)
	}
	// Renewed by another caller or server since the token was seen.
	if s.Usable(now, 0) && s.AccessToken != string(seen) {
		return secret.FromString(s.AccessToken), nil
	}
	if !force && s.Usable(now, b.oauthSkew) {
		return secret.FromString(s.AccessToken), nil
	}
	if force && s.Usable(now, b.oauthSkew) && !b.flights.tryForce(vaultID+"\x00"+key, now) {
		// A 401 to a token a 401 renewed a moment ago: the token is
		// likely not the cause. The agent gets the upstream's answer.
		return secret.FromString(s.AccessToken), nil
	}
	if s.Status == oauth.StatusRefreshFailed && now.Sub(s.LastErrorAt) < oauthRetryAfterFailure {
		return secret.Bytes{}, refreshFailed(key, s.LastError, "")
	}
	stillValid := !force && s.AccessToken != "" && (s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt))
	if stillValid && !s.LastErrorAt.IsZero() && now.Sub(s.LastErrorAt) < oauthRetryAfterFailure {
		// The provider failed a moment ago; the token still works.
		return secret.FromString(s.AccessToken), nil
	}
	before := s
	if !s.CanRenew() {
		if stillValid {
			return secret.FromString(s.AccessToken), nil
		}
		s.Fail(errors.New("the access token expired and there is no refresh token to renew it"), now)
		cur, won, err := b.saveRenewal(ctx, vaultID, key, before, s)
		if err != nil {
			return secret.Bytes{}, err
		}
		if tok, ok := b.lostRace(cur, won); ok {
			return tok, nil
		}
		return secret.Bytes{}, refreshFailed(key, s.LastError, "upload a new access token, or tokens with a refresh token (agent-vault vault credential oauth tokens), or reconnect")
	}
	req := oauth.Request{Config: s.Config(), Grant: oauth.GrantRefreshToken, RefreshToken: secret.FromString(s.RefreshToken)}
	if s.Grant == oauth.GrantClientCredentials {
		req.Grant, req.RefreshToken = oauth.GrantClientCredentials, secret.Bytes{}
	}
	t, err := b.oauth.Token(ctx, req)
	trigger := RenewalExpiry
	if force {
		trigger = Renewal401
	}
	b.countRenewal(req.Grant, trigger, err == nil)
	if err != nil {
		var oe *oauth.Error
		hint := ""
		if errors.As(err, &oe) {
			hint = oe.Hint()
			if oe.Temporary() && stillValid {
				// The provider is down but the token still works: keep
				// serving it, and say why renewal is late.
				s.LastError, s.LastErrorAt = err.Error(), now
				cur, won, serr := b.saveRenewal(ctx, vaultID, key, before, s)
				if serr != nil {
					return secret.Bytes{}, serr
				}
				if tok, ok := b.lostRace(cur, won); ok {
					return tok, nil
				}
				return secret.FromString(s.AccessToken), nil
			}
		}
		b.log.Info("oauth renewal failed", "key", key, "vault_id", vaultID, "err", err.Error())
		s.Fail(err, now)
		cur, won, serr := b.saveRenewal(ctx, vaultID, key, before, s)
		if serr != nil {
			return secret.Bytes{}, serr
		}
		if tok, ok := b.lostRace(cur, won); ok {
			return tok, nil
		}
		return secret.Bytes{}, refreshFailed(key, s.LastError, hint)
	}
	s.Apply(t, now)
	cur, won, err := b.saveRenewal(ctx, vaultID, key, before, s)
	if err != nil {
		return secret.Bytes{}, err
	}
	if tok, ok := b.lostRace(cur, won); ok {
		return tok, nil
	}
	return secret.FromString(s.AccessToken), nil
}

// saveRenewal writes a renewal's outcome unless a member replaced the
// credential meanwhile (new tokens or configuration), or another renewal
// got there first; then that one wins, and its state is returned with
// won false.
func (b *Broker) saveRenewal(ctx context.Context, vaultID, key string, before, after oauth.Stored) (cur oauth.Stored, won bool, err error) {
	err = b.tx(ctx, func(tx store.Store) error {
		var ok bool
		cur, ok, err = b.loadOAuth(ctx, tx, vaultID, key)
		if err != nil {
			return err
		}
		if !ok || cur.TokenURL != before.TokenURL || cur.ClientID != before.ClientID || cur.RefreshToken != before.RefreshToken ||
			cur.AccessToken != before.AccessToken || cur.ClientSecret != before.ClientSecret {
			return nil
		}
		ct, err := b.sealOAuth(vaultID, key, after)
		if err != nil {
			return err
		}
		if err := tx.Credentials().SetValue(ctx, vaultID, key, ct, b.now()); err != nil {
			return internal(err, "saving renewed OAuth tokens")
		}
		cur, won = after, true
		return nil
	})
	return cur, won, err
}

// lostRace returns the token another writer stored while a renewal ran,
// when there is a usable one.
func (b *Broker) lostRace(cur oauth.Stored, won bool) (secret.Bytes, bool) {
	if won || !cur.Usable(b.now(), 0) {
		return secret.Bytes{}, false
	}
	return secret.FromString(cur.AccessToken), true
}
