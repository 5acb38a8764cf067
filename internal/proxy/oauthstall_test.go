package proxy_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/oauth/oauthtest"
)

// A provider whose token endpoint hangs holds the proxied requests
// waiting on the renewal no longer than the token request's timeout:
// every one of them gets 502 oauth_refresh_failed saying the endpoint did
// not answer in time (and no secret), the provider sees the vault hang
// up, only one token request was made, and the renewal's cross-server
// lock is free again: once the provider answers, the next renewal runs.
func TestOAuthStalledRefreshEndsAtTheClientTimeout(t *testing.T) {
	o := newOAuthEnvTimeout(t, oauthtest.Options{}, 500*time.Millisecond)
	o.p.AddClient(oauthtest.Client{ID: "app", Secret: "app-client-secret", AuthMethod: "client_secret_post", RedirectURI: redirect})
	pasted := o.p.Authorize(t, "app", "")
	o.upload(apitype.OAuthTokensRequest{RefreshToken: pasted.Refresh, ClientID: "app", ClientSecret: "app-client-secret"})
	if code, body := o.call("GET", "ok", ""); code != 200 {
		t.Fatalf("first call: %d %s", code, body)
	}
	before, apiHits := o.p.Hits("refresh_token"), o.p.APIHits()
	o.p.HoldTokenRequests(true)
	o.clock.Advance(2 * time.Hour)

	const n = 5
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan answer, n)
	cl := o.client(o.agent, "", false)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := cl.Get(o.api + "held/" + strconv.Itoa(i))
			if err != nil {
				answers <- answer{err: err}
				return
			}
			answers <- answer{code: resp.StatusCode, body: read(t, resp)}
		}(i)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("proxied requests waiting on a stalled renewal never got an answer")
	}
	close(answers)
	for a := range answers {
		if a.err != nil {
			t.Fatalf("proxied request: %v", a.err)
		}
		if a.code != http.StatusBadGateway || errorCode(a.body) != "oauth_refresh_failed" || !strings.Contains(a.body, "did not answer in full within 500ms") {
			t.Errorf("got %d %s, want 502 oauth_refresh_failed saying the endpoint did not answer in time", a.code, a.body)
		}
		for _, s := range []string{pasted.Refresh, "app-client-secret"} {
			if strings.Contains(a.body, s) {
				t.Fatalf("the answer holds a secret: %s", a.body)
			}
		}
	}
	if got := o.p.Hits("refresh_token") - before; got != 1 {
		t.Fatalf("%d token requests for %d requests waiting on one renewal, want 1", got, n)
	}
	for end := time.Now().Add(10 * time.Second); o.p.AbandonedTokenRequests() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the provider never saw the vault hang up on the stalled token request")
		}
	}
	if o.p.APIHits() != apiHits {
		t.Fatal("the upstream was reached with the stale token")
	}
	if st := o.status(); st.Status != "refresh_failed" || st.LastError == nil || !strings.Contains(*st.LastError, "did not answer") {
		t.Fatalf("status %+v", st)
	}

	// The provider answers again; past the pause after a failure, the
	// next request renews (taking the credential's lock again) and passes.
	o.p.HoldTokenRequests(false)
	o.clock.Advance(time.Minute)
	if code, body := o.call("GET", "after", ""); code != 200 {
		t.Fatalf("call once the provider answers: %d %s", code, body)
	}
	if got := o.p.Hits("refresh_token") - before; got != 2 {
		t.Fatalf("%d token requests in all, want 2", got)
	}
}
