package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/ratelimit"
)

// limiterAt is a limiter on a clock the test moves.
func limiterAt(t *testing.T, now *time.Time, limits map[ratelimit.Tier]ratelimit.Limits) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(ratelimit.Options{Profile: ratelimit.ProfileDefault, Limits: limits, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoginFailuresTripTheAddressBudgetAndRecover(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}))
	e.owner()
	ctx := context.Background()
	bad := apitype.Credentials{Email: "owner@example.com", Password: "wrong-password"}
	for i := range 3 {
		if _, err := e.anon().Login(ctx, bad); status(err) != http.StatusUnauthorized {
			t.Fatalf("failure %d: %v, want 401", i+1, err)
		}
	}
	// The budget is spent: even the right password waits now.
	_, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if status(err) != http.StatusTooManyRequests {
		t.Fatalf("4th attempt = %v, want 429", err)
	}
	req, _ := http.NewRequest("POST", e.url+"/v1/auth/login", strings.NewReader(`{"email":"owner@example.com","password":"x"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || ra < 1 || ra > 60 {
		t.Fatalf("429 without a sane Retry-After: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A minute later the address may try again, and success costs nothing.
	now = now.Add(time.Minute)
	for range 5 {
		if _, err := e.anon().Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"}); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
}

func TestBadTokensTripButGoodTokensPass(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}))
	own := e.owner()
	bogus := e.as("av_sess_" + strings.Repeat("0", 64))
	ctx := context.Background()
	for range 2 {
		if _, err := bogus.Me(ctx); !client.IsUnauthorized(err) {
			t.Fatalf("bad token = %v, want 401", err)
		}
	}
	// The failure that spends the budget is already answered 429.
	if _, err := bogus.Me(ctx); status(err) != http.StatusTooManyRequests {
		t.Fatalf("bad token over budget = %v, want 429", err)
	}
	// A valid session from the same address is never refused for them.
	if _, err := own.Me(ctx); err != nil {
		t.Fatalf("valid session refused: %v", err)
	}
}

func TestSessionBudgetTripsAndRecovers(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAPI: {Rate: 1, Burst: 5}}))
	own := e.owner()
	ctx := context.Background()
	for i := range 5 {
		if _, err := own.Me(ctx); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	if _, err := own.Me(ctx); status(err) != http.StatusTooManyRequests {
		t.Fatalf("6th call = %v, want 429", err)
	}
	now = now.Add(time.Second)
	if _, err := own.Me(ctx); err != nil {
		t.Fatalf("a second later: %v", err)
	}
}

// Wrong password-reset codes spend the address's failure budget like wrong
// passwords (the answer is a 400, as in the public API); a server without
// email says so without telling whether the account exists.
func TestPasswordResetGuessesTripTheAddressBudget(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAuth: {Rate: 1000, Burst: 1000, Max: 3, Window: time.Minute}}))
	e.owner()
	ctx := context.Background()
	for _, email := range []string{"owner@example.com", "nobody@example.com"} {
		out, err := e.anon().ForgotPassword(ctx, email)
		if err != nil || out.EmailSent || !strings.Contains(out.Message, "sends no email") {
			t.Errorf("forgot-password for %s without email: %+v, %v", email, out, err)
		}
	}
	for i := range 3 {
		_, err := e.anon().ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "owner@example.com", Code: "12345" + strconv.Itoa(i), NewPassword: "new-password-1"})
		var ae *client.APIError
		if !asAPIError(err, &ae) || ae.Status != http.StatusBadRequest || ae.Body.Code != "invalid_reset_code" {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := e.anon().ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "owner@example.com", Code: "123459", NewPassword: "new-password-1"}); status(err) != http.StatusTooManyRequests {
		t.Fatalf("4th guess = %v, want 429", err)
	}
	// Malformed input is not a guess.
	now = now.Add(time.Minute)
	for range 5 {
		if _, err := e.anon().ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "owner@example.com", Code: "12ab", NewPassword: "new-password-1"}); status(err) != http.StatusBadRequest {
			t.Fatalf("a malformed code = %v, want 400", err)
		}
	}
}

// TestAgentBudgetSurvivesRename: an agent's control-plane budget is kept
// under its id, so renaming it (which its owner may do, or it may do
// itself with an instance role) does not refill it.
func TestAgentBudgetSurvivesRename(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAPI: {Rate: 1, Burst: 3}}))
	own := e.owner()
	ctx := context.Background()
	ag, err := own.CreateAgent(ctx, apitype.CreateAgentRequest{Name: "budget-bot"})
	if err != nil {
		t.Fatal(err)
	}
	bot := e.as(ag.Token)
	for i := range 3 {
		if _, err := bot.Me(ctx); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	if _, err := bot.Me(ctx); status(err) != http.StatusTooManyRequests {
		t.Fatalf("4th call = %v, want 429", err)
	}
	now = now.Add(time.Second) // the owner's own budget is separate; the bot's refills by one
	if _, err := own.RenameAgent(ctx, "budget-bot", "budget-bot-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Me(ctx); err != nil {
		t.Fatalf("the one call the second refilled: %v", err)
	}
	if _, err := bot.Me(ctx); status(err) != http.StatusTooManyRequests {
		t.Fatalf("after the rename = %v, want 429: the rename refilled the budget", err)
	}
}

// A vault session an agent minted spends the agent's control-plane budget:
// minting sessions does not multiply it.
func TestAgentSessionsShareTheAgentsAPIBudget(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnvWith(t, limiterAt(t, &now, map[ratelimit.Tier]ratelimit.Limits{ratelimit.TierAPI: {Rate: 1, Burst: 3}}))
	own := e.owner()
	ctx := context.Background()
	ag, err := own.CreateAgent(ctx, apitype.CreateAgentRequest{Name: "budget-minter", Vaults: []apitype.AgentVault{{VaultName: "default", VaultRole: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	bot := e.as(ag.Token)
	s, err := bot.CreateScopedSession(ctx, apitype.CreateScopedSessionRequest{Vault: "default"}) // call 1
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // calls 2 and 3
		if _, err := bot.Me(ctx); err != nil {
			t.Fatalf("call %d within the burst: %v", i+2, err)
		}
	}
	if _, err := e.as(s.Token).Me(ctx); status(err) != http.StatusTooManyRequests {
		t.Fatalf("the agent's session after the agent spent its budget = %v, want 429", err)
	}
}
