package agentvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestCreateProposal(t *testing.T) {
	f := newFake(t)
	f.json("POST /v1/proposals", 201, `{"id":1,"status":"pending","vault":"default","approval_url":"http://av/approve/1?token=av_appr_x","message":"Proposal created. Approve here: http://av/approve/1?token=av_appr_x"}`)
	c := New(f.srv.URL, "av_agt_x", WithVault("default"))
	req := ProposalRequest{
		Services: []ProposalService{{Action: "set", Name: "stripe", Host: "api.stripe.com",
			Auth: &ServiceAuth{Type: "bearer", Token: "STRIPE_KEY"}}},
		Credentials: []ProposalCredential{{Action: "set", Key: "STRIPE_KEY", Description: "Stripe API key",
			Obtain: "https://dashboard.stripe.com/apikeys", ObtainInstructions: "Developers > API Keys"}},
		Message:     "for the developer",
		UserMessage: "for the human approving",
	}
	out, err := c.CreateProposal(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != 1 || out.Status != StatusPending || out.ApprovalURL != "http://av/approve/1?token=av_appr_x" {
		t.Fatalf("created = %+v", out)
	}
	r := f.last()
	if r.header.Get(VaultHeader) != "default" || r.header.Get("Authorization") != "Bearer av_agt_x" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", r.header)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(`{"services":[{"action":"set","name":"stripe","host":"api.stripe.com",
              "auth":{"type":"bearer","token":"STRIPE_KEY"}}],
 "credentials":[{"action":"set","key":"STRIPE_KEY","description":"Stripe API key",
                 "obtain":"https://dashboard.stripe.com/apikeys",
                 "obtain_instructions":"Developers > API Keys"}],
 "message":"for the developer","user_message":"for the human approving"}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body = %s", r.body)
	}
}

func TestCreateProposalTooMany(t *testing.T) {
	f := newFake(t)
	f.answer["POST /v1/proposals"] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = fmt.Fprint(w, `{"error":"vault default already has 20 pending proposals","code":"too_many_proposals"}`)
	}
	_, err := New(f.srv.URL, "t").CreateProposal(context.Background(), ProposalRequest{})
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrCodeTooManyProposals || e.Status != 429 || e.RetryAfter != time.Minute || e.FromProxy {
		t.Fatalf("err = %#v", err)
	}
}

func TestGetAndListProposals(t *testing.T) {
	f := newFake(t)
	f.json("GET /v1/proposals/42", 200, `{"id":42,"status":"rejected","vault":"v","rejection_reason":"use the sandbox key"}`)
	f.json("GET /v1/proposals", 200, `{"proposals":[{"id":1,"status":"pending"},{"id":2,"status":"pending"}]}`)
	c := New(f.srv.URL, "t", WithVault("v"))
	p, err := c.GetProposal(context.Background(), 42)
	if err != nil || p.ID != 42 || p.Status != StatusRejected || p.RejectionReason != "use the sandbox key" {
		t.Fatalf("proposal = %+v, %v", p, err)
	}
	if r := f.last(); r.path != "/v1/proposals/42" || r.header.Get(VaultHeader) != "v" {
		t.Fatalf("request = %+v", r)
	}
	if _, err := c.GetProposal(context.Background(), 0); err == nil {
		t.Fatal("id 0 accepted")
	}
	ps, err := c.ListProposals(context.Background(), StatusPending)
	if err != nil || len(ps) != 2 || ps[1].ID != 2 {
		t.Fatalf("list = %+v, %v", ps, err)
	}
	if r := f.last(); r.path != "/v1/proposals" || r.query != "status=pending" {
		t.Fatalf("request = %+v", r)
	}
	if _, err := c.ListProposals(context.Background(), ""); err != nil || f.last().query != "" {
		t.Fatalf("unfiltered list: query %q, %v", f.last().query, err)
	}
}

func TestPollInterval(t *testing.T) {
	for _, tc := range []struct{ elapsed, want time.Duration }{
		{0, 3 * time.Second}, {29 * time.Second, 3 * time.Second}, {30 * time.Second, 10 * time.Second}, {time.Hour, 10 * time.Second},
	} {
		if got := PollInterval(tc.elapsed); got != tc.want {
			t.Errorf("PollInterval(%s) = %s, want %s", tc.elapsed, got, tc.want)
		}
	}
}

// fakeClock advances only when the client sleeps.
type fakeClock struct {
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) install(cl *Client) {
	cl.now = func() time.Time { return c.t }
	cl.sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.sleeps = append(c.sleeps, d)
		c.t = c.t.Add(d)
		return nil
	}
}

func TestWaitProposalBackoff(t *testing.T) {
	const pendingPolls = 14
	f := newFake(t)
	polls := 0
	f.answer["GET /v1/proposals/7"] = func(w http.ResponseWriter, _ *http.Request) {
		polls++
		status := StatusPending
		if polls > pendingPolls {
			status = StatusApplied
		}
		_, _ = fmt.Fprintf(w, `{"id":7,"status":%q,"vault":"v"}`, status)
	}
	c := New(f.srv.URL, "t")
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	clock.install(c)

	p, err := c.WaitProposal(context.Background(), 7)
	if err != nil || p.Status != StatusApplied || p.ID != 7 {
		t.Fatalf("WaitProposal = %+v, %v", p, err)
	}
	var want []time.Duration
	for range 10 {
		want = append(want, 3*time.Second)
	}
	for range pendingPolls - 10 {
		want = append(want, 10*time.Second)
	}
	if !reflect.DeepEqual(clock.sleeps, want) {
		t.Fatalf("sleeps = %v, want %v", clock.sleeps, want)
	}
	if polls != pendingPolls+1 {
		t.Fatalf("polls = %d", polls)
	}
}

func TestWaitProposalTerminalAtOnce(t *testing.T) {
	for _, st := range []string{StatusRejected, StatusExpired, StatusApplied} {
		f := newFake(t)
		f.json("GET /v1/proposals/1", 200, `{"id":1,"status":"`+st+`"}`)
		c := New(f.srv.URL, "t")
		clock := &fakeClock{}
		clock.install(c)
		p, err := c.WaitProposal(context.Background(), 1)
		if err != nil || p.Status != st || len(clock.sleeps) != 0 {
			t.Fatalf("%s: %+v, %v, sleeps %v", st, p, err, clock.sleeps)
		}
	}
}

func TestWaitProposalStops(t *testing.T) {
	f := newFake(t)
	f.json("GET /v1/proposals/1", 200, `{"id":1,"status":"pending"}`)
	c := New(f.srv.URL, "t")
	ctx, cancel := context.WithCancel(context.Background())
	clock := &fakeClock{}
	clock.install(c)
	inner := c.sleep
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if len(clock.sleeps) == 2 {
			cancel()
		}
		return inner(ctx, d)
	}
	p, err := c.WaitProposal(ctx, 1)
	if !errors.Is(err, context.Canceled) || p.Status != StatusPending {
		t.Fatalf("cancelled wait = %+v, %v", p, err)
	}

	// A failing poll ends the wait with the server's error.
	f.json("GET /v1/proposals/1", 404, `{"error":"proposal 1 not found","code":"not_found"}`)
	if _, err := c.WaitProposal(context.Background(), 1); !IsCode(err, ErrCodeNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestTerminal(t *testing.T) {
	for st, want := range map[string]bool{StatusPending: false, StatusApplied: true, StatusRejected: true, StatusExpired: true, "": false} {
		if Terminal(st) != want {
			t.Errorf("Terminal(%q) != %v", st, want)
		}
	}
}
