package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

func mustLimiter(t *testing.T, limits map[ratelimit.Tier]ratelimit.Limits) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(ratelimit.Options{Profile: ratelimit.ProfileDefault, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// One agent fanning out 64 concurrent streams is normal under the default
// profile: none is refused.
func TestDefaultProfileAllows64ConcurrentStreams(t *testing.T) {
	e := newEnvLimited(t, true, mustLimiter(t, nil))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	hold := make(chan struct{})
	var started sync.WaitGroup
	started.Add(64)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		started.Done()
		<-hold // every stream is open at the same time
		_, _ = io.WriteString(w, "done")
	}))
	c := e.client(tok, "default", true)
	codes := make(chan int, 64)
	for range 64 {
		go func() {
			resp, err := c.Get("https://" + e.upstream + "/stream")
			if err != nil {
				codes <- -1
				return
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	waited := make(chan struct{})
	go func() { started.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		close(hold)
		t.Fatal("the 64 streams never were all open at once")
	}
	close(hold)
	for range 64 {
		if c := <-codes; c != 200 {
			t.Fatalf("a stream got %d", c)
		}
	}
}

func TestConcurrencyCapAnswers429WithRetryAfter(t *testing.T) {
	e := newEnvLimited(t, true, mustLimiter(t, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierProxy: {Rate: 1000, Burst: 1000, Concurrency: 2}}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	hold := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Done()
		<-hold
	}))
	c := e.client(tok, "default", true)
	for range 2 {
		go func() {
			if resp, err := c.Get("https://" + e.upstream + "/slow"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	started.Wait()
	resp, err := c.Get("https://" + e.upstream + "/third")
	if err != nil {
		t.Fatal(err)
	}
	brokerError(t, resp, http.StatusTooManyRequests, "rate_limited")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	close(hold)
	// Released: the next request passes.
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get("https://" + e.upstream + "/after")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the cap never released")
		}
	}
}

func TestBadProxyTokensTripButAGoodTokenPasses(t *testing.T) {
	e := newEnvLimited(t, true, mustLimiter(t, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	bad := e.client("av_agt_"+strings.Repeat("1", 64), "default", false)
	codes := []int{}
	for range 4 {
		req, _ := http.NewRequest("GET", "http://"+e.plainUp+"/", nil)
		resp, err := bad.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 407 || codes[3] != 429 {
		t.Fatalf("bad token statuses %v, want 407 first and 429 once the budget is spent", codes)
	}
	good := e.client(tok, "default", false)
	resp, err := good.Get("https://" + e.upstream + "/x")
	if err != nil {
		t.Fatal(err)
	}
	if b := read(t, resp); resp.StatusCode != 200 {
		t.Fatalf("a valid token from the same address: %d %s", resp.StatusCode, b)
	}
}

// TestProxyBudgetSurvivesRename: the proxy's per-agent rate budget is kept
// under the agent's id, so renaming the agent does not refill it.
func TestProxyBudgetSurvivesRename(t *testing.T) {
	e := newEnvLimited(t, true, mustLimiter(t, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierProxy: {Rate: 0.001, Burst: 2, Concurrency: 100}}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	get := func() int {
		t.Helper()
		c := e.client(tok, "default", false)
		resp, err := c.Get("https://" + e.upstream + "/x")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 2 {
		if c := get(); c != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, c)
		}
	}
	if c := get(); c != http.StatusTooManyRequests {
		t.Fatalf("3rd request: %d, want 429", c)
	}
	if _, err := e.b.RenameAgent(context.Background(), e.owner, "bot", apitype.RenameVaultRequest{Name: "bot-renamed"}); err != nil {
		t.Fatal(err)
	}
	if c := get(); c != http.StatusTooManyRequests {
		t.Fatalf("after renaming the agent: %d, want 429 (the rename refilled its budget)", c)
	}
}

// TestConcurrencySlotFreedBeforeTheAnswer: a request gives its place
// under the concurrency cap back before its answer ends, so an agent that
// sends its next request as soon as it has an answer (here on another
// connection, under a cap of one) is never refused as if the previous one
// were still in flight.
func TestConcurrencySlotFreedBeforeTheAnswer(t *testing.T) {
	e := newEnvLimited(t, true, mustLimiter(t, map[ratelimit.Tier]ratelimit.Limits{
		ratelimit.TierProxy: {Rate: 1e6, Burst: 1e6, Concurrency: 1},
	}))
	e.setup(map[string]string{"API_KEY": secretValue}, bearer("api", "api.test", "API_KEY"))
	tok := e.agent("bot", "proxy")
	e.handler.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "fine")
	}))
	type conn struct {
		w io.Writer
		r *bufio.Reader
	}
	var conns [2]conn
	for i := range conns {
		tc, br := e.rawConnect(t, e.upstream, tok, "api.test")
		_ = tc.SetDeadline(time.Now().Add(60 * time.Second))
		conns[i] = conn{tc, br}
	}
	refused := 0
	for i := range 1000 {
		c := conns[i%2]
		if _, err := io.WriteString(c.w, "GET /x HTTP/1.1\r\nHost: "+e.upstream+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused > 0 {
		t.Fatalf("%d of 1000 requests sent one at a time were refused under a concurrency cap of one", refused)
	}
}
