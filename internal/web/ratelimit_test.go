package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// The login form shares the API's failure budget per address: after it is
// spent even the right password waits, and a success costs nothing.
func TestLoginFormIsRateLimited(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(ratelimit.Options{Profile: ratelimit.ProfileDefault, Now: func() time.Time { return now },
		Limits: map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 2, Window: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvLimited(t, "", lim)
	b := e.browser()
	for i := range 2 {
		if p := b.login("/login", ownerEmail, "wrong-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.status)
		}
	}
	p := b.login("/login", ownerEmail, ownerPW)
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed logins") {
		t.Fatalf("over budget: %d\n%s", p.status, p.body)
	}
	now = now.Add(time.Minute)
	for range 3 {
		if p := e.browser().login("/login", ownerEmail, ownerPW); p.status != http.StatusSeeOther {
			t.Fatalf("after recovery: %d\n%s", p.status, p.body)
		}
	}
}

// The invite page spends the same budget for unknown or used links, as
// the API's invite routes do; a valid link is not charged.
func TestInvitePageIsRateLimited(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(ratelimit.Options{Profile: ratelimit.ProfileDefault, Now: func() time.Time { return now },
		Limits: map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvLimited(t, "", lim)
	inv, err := e.b.CreateInvite(context.Background(), e.owner, apitype.InviteRequest{Email: "invitee@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	for range 5 { // a valid link costs nothing
		if p := b.get("/invite/" + inv.Token); p.status != http.StatusOK {
			t.Fatalf("the valid link: %d", p.status)
		}
	}
	for i := range 3 {
		if p := b.get("/invite/av_uinv_guess" + strconv.Itoa(i)); p.status != http.StatusNotFound {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	if p := b.get("/invite/av_uinv_guess9"); p.status != http.StatusTooManyRequests {
		t.Fatalf("over budget: %d", p.status)
	}
	if p := b.post("/invite/av_uinv_guess10", url.Values{"password": {"x-password-1"}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("a POST over budget: %d", p.status)
	}
}
