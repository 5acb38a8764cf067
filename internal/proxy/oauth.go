package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/service"
)

// OAuth credentials in the proxy: a request whose service references one
// gets the credential's current access token (the broker renews it when
// it is due), and when the upstream answers 401 the broker renews it once
// and the request is sent again with the new token, if its body can be
// replayed (none, or a known length up to maxReplayBody, kept in memory
// for the purpose). A token placed by substitution is substituted again
// into the agent's original request. See docs/oauth.md.

// maxReplayBody bounds the request body kept to resend after a 401.
const maxReplayBody = 1 << 20

// oauthState is what an injected OAuth credential adds to an outbound
// request.
type oauthState struct {
	grant      *broker.ProxyGrant
	sent       map[string][]byte // key -> access token injected
	replay     []byte            // the body to resend; nil with replayable means none
	replayable bool
	lw         *logWriter
	// orig is the request as the agent sent it, kept before
	// substitutions put tokens into it, when one of the injected OAuth
	// credentials is placed by substitution: a resend redoes the
	// substitutions from it with the renewed tokens. nil when no such
	// substitution applies or its body cannot be replayed.
	orig *origRequest
}

// origRequest is what a resend needs of the agent's request to redo its
// substitutions: the URL parts and header fields that may carry
// placeholders, and the body (nil: none).
type origRequest struct {
	path, rawPath, rawQuery string
	header                  http.Header
	body                    []byte
}

// keepOriginal keeps, before applySubstitutions runs, what a resend
// after a 401 needs to substitute the renewed tokens anew. It reads a
// small body of known length into memory (the replay rule of
// keepReplayBody); any other body leaves orig nil, and the request is
// then not resent.
func (st *oauthState) keepOriginal(r *http.Request, s *service.Service) error {
	if !substitutesAny(s, st.sent) {
		return nil
	}
	if err := keepReplayBody(r, st); err != nil {
		return err
	}
	if st.replayable {
		st.orig = &origRequest{path: r.URL.Path, rawPath: r.URL.RawPath, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: st.replay}
	}
	// keepReplayBody runs again once the substitutions are done.
	st.replay, st.replayable = nil, false
	return nil
}

// resubstituted is req rebuilt from the agent's original request with
// the substitutions redone through lookup; ok is false when that fails
// (the first answer then stands).
func (o *origRequest) resubstituted(req *http.Request, s *service.Service, lookup func(string) ([]byte, bool)) (*http.Request, bool) {
	again := req.Clone(req.Context())
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = o.path, o.rawPath, o.rawQuery
	again.URL = &u
	for _, sub := range s.Substitutions {
		if !sub.Scans(service.SurfaceHeader) {
			continue
		}
		for name, vals := range o.header {
			if req.Header[name] == nil {
				continue // dropped on the way out (a broker or hop-by-hop field): it stays dropped
			}
			for _, v := range vals {
				if strings.Contains(v, sub.Placeholder) {
					again.Header[name] = slices.Clone(vals)
					break
				}
			}
		}
	}
	again.Body, again.GetBody, again.ContentLength = http.NoBody, nil, 0
	if len(o.body) > 0 {
		again.Body, again.ContentLength = io.NopCloser(bytes.NewReader(o.body)), int64(len(o.body))
	}
	if berr := applySubstitutions(again, s, lookup); berr != nil {
		return nil, false
	}
	if berr := recheckSubstituted(again, s, o.path); berr != nil {
		return nil, false // a renewed token that would leave the scope is not sent
	}
	return again, true
}

// credentialLookup returns the lookup for request r to service s, in
// which the OAuth credentials among keys that the request uses (in the
// service's auth, or a substitution whose placeholder it carries) hold
// their current access tokens, and those tokens; a credential that cannot
// be injected is a 502.
func credentialLookup(ctx context.Context, g *broker.ProxyGrant, s *service.Service, r *http.Request, keys []string) (func(string) ([]byte, bool), map[string][]byte, *brokerError) {
	var fresh map[string][]byte
	var authKeys []string
	for _, k := range keys {
		if !g.IsOAuth(k) {
			continue
		}
		if authKeys == nil {
			authKeys = append(s.Auth.Keys(), "") // non-nil once computed
		}
		if !slices.Contains(authKeys, k) && !mentionedSubstitution(s, r, k) {
			continue // a substitution this request does not use
		}
		tok, err := g.OAuthToken(ctx, k)
		if err != nil {
			return nil, nil, oauthFailure(err)
		}
		if fresh == nil {
			fresh = make(map[string][]byte, 1)
		}
		fresh[k] = tok
	}
	if fresh == nil {
		return g.Credential, nil, nil
	}
	return overlay(fresh, g.Credential), fresh, nil
}

func overlay(over map[string][]byte, base func(string) ([]byte, bool)) func(string) ([]byte, bool) {
	return func(k string) ([]byte, bool) {
		if v, ok := over[k]; ok {
			return v, true
		}
		return base(k)
	}
}

// mentionedSubstitution reports whether r carries the placeholder of one
// of s's substitutions of key.
func mentionedSubstitution(s *service.Service, r *http.Request, key string) bool {
	for _, sub := range s.Substitutions {
		if sub.Key == key && mentions(r, sub) {
			return true
		}
	}
	return false
}

// oauthFailure turns a broker error about an OAuth credential into the
// proxy's 502.
func oauthFailure(err error) *brokerError {
	var oe *broker.OAuthError
	if errors.As(err, &oe) {
		return fail(http.StatusBadGateway, oe.Code, oe.Message, oe.Hint)
	}
	return fail(http.StatusBadGateway, "oauth_refresh_failed", "the OAuth token could not be renewed", "try again; if it persists, check agent-vault vault credential oauth status")
}

// errOAuthRenew carries a failed renewal after a 401 to upstreamError.
type errOAuthRenew struct{ berr *brokerError }

func (e *errOAuthRenew) Error() string { return e.berr.Error() }

// keepReplayBody reads a small body of known length into memory so that
// the request can be sent again after a 401.
func keepReplayBody(r *http.Request, st *oauthState) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		st.replayable = true
		return nil
	}
	if r.ContentLength < 0 || r.ContentLength > maxReplayBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength+1))
	if err != nil {
		return err
	}
	if int64(len(b)) != r.ContentLength {
		return errors.New("the request body does not match its Content-Length")
	}
	st.replay, st.replayable = b, true
	r.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// oauthRetry sends a request again, once, with renewed OAuth tokens when
// the upstream answered 401 to the ones injected.
type oauthRetry struct{ next http.RoundTripper }

func (t oauthRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	out, _ := req.Context().Value(outboundKey{}).(*outbound)
	if out == nil || out.oauth == nil {
		return t.next.RoundTrip(req)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	st := out.oauth
	fresh := make(map[string][]byte, len(st.sent))
	renewed := false
	for k, sent := range st.sent {
		tok, rerr := st.grant.OAuthRejected(req.Context(), k, sent)
		if rerr != nil {
			_ = resp.Body.Close()
			return nil, &errOAuthRenew{oauthFailure(rerr)}
		}
		fresh[k] = tok
		renewed = renewed || !bytes.Equal(tok, sent)
	}
	if !renewed {
		return resp, nil // the vault did not renew (see broker.OAuthRejected): this answer stands
	}
	substituted := substitutesAny(out.svc, st.sent)
	if !st.replayable || (substituted && st.orig == nil) {
		return resp, nil // renewed for the next request; this answer stands
	}
	lookup := overlay(fresh, st.grant.Credential)
	headers, missing, rerr := out.svc.Auth.Render(lookup)
	if missing != "" || rerr != nil {
		return resp, nil
	}
	var again *http.Request
	if substituted {
		var ok bool
		if again, ok = st.orig.resubstituted(req, out.svc, lookup); !ok {
			return resp, nil
		}
	} else {
		again = req.Clone(req.Context())
		again.Body, again.GetBody = http.NoBody, nil
		if st.replay != nil {
			again.Body = io.NopCloser(bytes.NewReader(st.replay))
			again.ContentLength = int64(len(st.replay))
		}
	}
	for k, v := range headers {
		again.Header.Set(k, v)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
	// Redact the new values as well as the old ones from what comes back.
	both := overlay(fresh, func(k string) ([]byte, bool) {
		if old, ok := cutOld(k); ok {
			v, found := st.sent[old]
			return v, found
		}
		return st.grant.Credential(k)
	})
	keys := append([]string(nil), out.keys...)
	for k := range st.sent {
		keys = append(keys, k+oldSuffix)
	}
	set := redactionFor(out.svc, keys, both, headers)
	out.secrets, out.inject = set, headers
	if out.redact != nil {
		out.redact = set
		st.lw.redact = set
	}
	st.sent = fresh
	return t.next.RoundTrip(again)
}

// oldSuffix marks, in the redaction lookup after a renewal, the token a
// key held before.
const oldSuffix = "\x00old"

func cutOld(k string) (string, bool) {
	if len(k) > len(oldSuffix) && k[len(k)-len(oldSuffix):] == oldSuffix {
		return k[:len(k)-len(oldSuffix)], true
	}
	return "", false
}

// substitutesAny reports whether the service places one of keys by
// substitution (path, query, header or body placeholders): a resend of
// such a request starts again from the agent's original (keepOriginal).
func substitutesAny(s *service.Service, keys map[string][]byte) bool {
	if s == nil {
		return false
	}
	for _, sub := range s.Substitutions {
		if _, ok := keys[sub.Key]; ok {
			return true
		}
	}
	return false
}
