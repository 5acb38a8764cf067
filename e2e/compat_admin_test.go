package e2e

// The public CLI's owner and reviewer calls: proposals as
// `vault proposal approve` parses them, instance settings with the
// "rate_limit" object, the vault context, and re-sending an invite.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestCompatProposalDocuments(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)
	tok := owner.token()
	created := jsonObject(t, "create proposal", call(t, http.MethodPost, s.url+"/v1/proposals", tok, map[string]any{
		"vault": "default", "message": "need stripe",
		"services":    []any{map[string]any{"action": "set", "name": "stripe", "host": "api.stripe.com", "auth": map[string]any{"type": "bearer", "token": "STRIPE_KEY"}}},
		"credentials": []any{map[string]any{"action": "set", "key": "STRIPE_KEY", "description": "Stripe test key", "value": "sk_live_must_not_show"}},
	}), http.StatusCreated)
	id := int(created["id"].(float64))

	// GET /v1/admin/proposals/{id}?vault=default: services_json and
	// credentials_json are JSON documents in strings, alongside ours.
	r := call(t, http.MethodGet, s.url+"/v1/admin/proposals/"+itoa(id)+"?vault=default", tok, nil)
	p := jsonObject(t, "admin proposal", r, http.StatusOK)
	wantKinds(t, "admin proposal", p, map[string]string{"id": "number", "status": "string", "message": "string",
		"services_json": "string", "credentials_json": "string", "created_at": "string", "services": "array", "credentials": "array"})
	var svcs []struct {
		Action, Name, Host string
		Auth               struct{ Type, Token string }
	}
	if err := json.Unmarshal([]byte(p["services_json"].(string)), &svcs); err != nil || len(svcs) != 1 || svcs[0].Host != "api.stripe.com" || svcs[0].Auth.Token != "STRIPE_KEY" {
		t.Errorf("services_json = %q (%v), want the stripe service", p["services_json"], err)
	}
	var slots []struct {
		Action, Key, Description string
		HasValue                 bool `json:"has_value"`
	}
	if err := json.Unmarshal([]byte(p["credentials_json"].(string)), &slots); err != nil || len(slots) != 1 || slots[0].Key != "STRIPE_KEY" || !slots[0].HasValue {
		t.Errorf("credentials_json = %q (%v), want the STRIPE_KEY slot", p["credentials_json"], err)
	}
	// The agent's value is sealed: it is in neither document.
	if strings.Contains(string(r.body), "sk_live_must_not_show") {
		t.Errorf("the admin view of a proposal holds the credential value: %s", r.body)
	}
	// The listing carries them too.
	lr := call(t, http.MethodGet, s.url+"/v1/admin/proposals?vault=default&status=pending", tok, nil)
	if !strings.Contains(string(lr.body), `"services_json"`) || strings.Contains(string(lr.body), "sk_live_must_not_show") {
		t.Errorf("admin proposal list: %s", lr)
	}

	// `vault proposal approve` then posts {vault, credentials}.
	jsonObject(t, "approve", call(t, http.MethodPost, s.url+"/v1/admin/proposals/"+itoa(id)+"/approve", tok,
		map[string]any{"vault": "default", "credentials": map[string]string{"STRIPE_KEY": "sk_test_from_reviewer"}}), http.StatusOK)
	keys := jsonObject(t, "credentials", call(t, http.MethodGet, s.url+"/v1/credentials?vault=default", tok, nil), http.StatusOK)
	if !strings.Contains(string(mustJSON(t, keys["keys"])), "STRIPE_KEY") {
		t.Errorf("after approve the vault's keys are %v", keys["keys"])
	}
	// and `vault proposal reject` posts {vault, reason}.
	second := jsonObject(t, "create proposal 2", call(t, http.MethodPost, s.url+"/v1/proposals", tok, map[string]any{
		"vault": "default", "credentials": []any{map[string]any{"action": "set", "key": "OTHER_KEY"}}}), http.StatusCreated)
	rj := jsonObject(t, "reject", call(t, http.MethodPost, s.url+"/v1/admin/proposals/"+itoa(int(second["id"].(float64)))+"/reject", tok,
		map[string]any{"vault": "default", "reason": "not now"}), http.StatusOK)
	if rj["status"] != "rejected" {
		t.Errorf("reject answered %v", rj)
	}
}

func TestCompatSettings(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)
	tok := owner.token()
	get := jsonObject(t, "GET settings", call(t, http.MethodGet, s.url+"/v1/admin/settings", tok, nil), http.StatusOK)
	wantKinds(t, "GET settings", get, map[string]string{"invite_only": "bool", "allowed_email_domains": "array", "smtp_configured": "bool", "rate_limit": "object"})
	if get["smtp_configured"] != false {
		t.Errorf("smtp_configured = %v on a server without SMTP", get["smtp_configured"])
	}

	// An unknown field is a 400 naming it, never a silent 200.
	r := call(t, http.MethodPut, s.url+"/v1/admin/settings", tok, map[string]any{"invite_only": false, "allow_registration": true})
	if e := r.errorBody(t); r.status != http.StatusBadRequest || e.Field != "allow_registration" || !strings.Contains(e.Error, "allow_registration") {
		t.Errorf("PUT settings with an unknown field: %s, want 400 naming allow_registration", r)
	}
	if g := jsonObject(t, "GET settings", call(t, http.MethodGet, s.url+"/v1/admin/settings", tok, nil), http.StatusOK); g["invite_only"] != true {
		t.Errorf("a refused PUT changed invite_only: %v", g)
	}
	// An unknown tier is refused, naming it.
	r = call(t, http.MethodPut, s.url+"/v1/admin/settings", tok, map[string]any{"rate_limit": map[string]any{"profile": "default", "overrides": map[string]any{"BOGUS": map[string]any{"rate": 1}}}})
	if e := r.errorBody(t); r.status != http.StatusBadRequest || !strings.Contains(e.Field, "BOGUS") {
		t.Errorf("PUT settings with an unknown tier: %s", r)
	}

	// rate_limit {profile, overrides} is applied: with one anonymous
	// request per long while, a second login attempt is refused at once.
	put := jsonObject(t, "PUT rate_limit", call(t, http.MethodPut, s.url+"/v1/admin/settings", tok, map[string]any{
		"rate_limit": map[string]any{"profile": "default", "overrides": map[string]any{"AUTH": map[string]any{"rate": 0.001, "burst": 1}}},
	}), http.StatusOK)
	rl, _ := put["rate_limit"].(map[string]any)
	if rl["profile"] != "default" || rl["overrides"] == nil {
		t.Fatalf("PUT rate_limit answered %v", put)
	}
	if auth, _ := rl["overrides"].(map[string]any)["AUTH"].(map[string]any); auth["burst"] != float64(1) {
		t.Errorf("rate_limit.overrides.AUTH = %v, want burst 1", rl["overrides"])
	}
	login := map[string]any{"email": "owner@example.com", "password": "wrong-password-1"}
	first := call(t, http.MethodPost, s.url+"/v1/auth/login", "", login)
	second := call(t, http.MethodPost, s.url+"/v1/auth/login", "", login)
	if first.status == http.StatusTooManyRequests || second.status != http.StatusTooManyRequests {
		t.Errorf("after rate_limit AUTH burst 1: logins answered %d then %d, want the second refused with 429", first.status, second.status)
	}
}

func TestCompatVaultContextAndReinvite(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)
	tok := owner.token()
	ctx := jsonObject(t, "vault context", call(t, http.MethodGet, s.url+"/v1/vaults/default/context", tok, nil), http.StatusOK)
	if ctx["vault_name"] != "default" || ctx["vault_role"] != "admin" {
		t.Errorf("context = %v", ctx)
	}
	jsonObject(t, "create vault", call(t, http.MethodPost, s.url+"/v1/vaults", tok, map[string]any{"name": "team-a"}), http.StatusCreated)

	// An invite re-sent: the old link stops working, the new one works.
	inv := jsonObject(t, "invite", call(t, http.MethodPost, s.url+"/v1/users/invites", tok, map[string]any{
		"email": "bob@example.com", "vaults": []any{map[string]any{"vault_name": "team-a", "vault_role": "member"}},
	}), http.StatusCreated)
	oldTok := inv["token"].(string)
	re := jsonObject(t, "reinvite", call(t, http.MethodPost, s.url+"/v1/users/invites/"+oldTok+"/reinvite", tok, nil), http.StatusCreated)
	wantKinds(t, "reinvite", re, map[string]string{"email": "string", "email_sent": "bool", "expires_at": "string", "invite_link": "string"})
	newTok := re["token"].(string)
	if newTok == "" || newTok == oldTok {
		t.Fatalf("reinvite gave token %q", newTok)
	}
	if r := call(t, http.MethodGet, s.url+"/v1/users/invites/"+oldTok+"/details", "", nil); r.status == http.StatusOK {
		t.Errorf("the old invite link still works after a re-send: %s", r)
	}
	d := jsonObject(t, "new invite details", call(t, http.MethodGet, s.url+"/v1/users/invites/"+newTok+"/details", "", nil), http.StatusOK)
	if d["email"] != "bob@example.com" || !strings.Contains(string(mustJSON(t, d["vaults"])), "team-a") {
		t.Errorf("new invite = %v, want bob into team-a", d)
	}
	if r := call(t, http.MethodGet, s.url+"/v1/admin/audit?action=invite.revoke", tok, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "reinvite") {
		t.Errorf("admin trail of the re-send: %s", r)
	}
	// Re-sending a revoked invite is refused.
	if r := call(t, http.MethodPost, s.url+"/v1/users/invites/"+oldTok+"/reinvite", tok, nil); r.status != http.StatusConflict {
		t.Errorf("re-sending the replaced invite: %s, want 409", r)
	}

	// Bob accepts, and his context in team-a says member; a vault he is
	// not in is not found.
	jsonObject(t, "accept", call(t, http.MethodPost, s.url+"/v1/users/invites/"+newTok+"/accept", "", map[string]any{"password": "bob-pass-1234"}), http.StatusOK)
	bob := newCLI(t, "bob", s.url)
	bob.ok("bob-pass-1234\n", "auth", "login", "--email", "bob@example.com", "--password-stdin")
	bc := jsonObject(t, "bob context", call(t, http.MethodGet, s.url+"/v1/vaults/team-a/context", bob.token(), nil), http.StatusOK)
	if bc["vault_role"] != "member" {
		t.Errorf("bob's context = %v", bc)
	}
	if r := call(t, http.MethodGet, s.url+"/v1/vaults/default/context", bob.token(), nil); r.status != http.StatusNotFound {
		t.Errorf("context of a vault bob is not in: %s, want 404", r)
	}
	// Nor does he learn which services of that vault use which key.
	if r := call(t, http.MethodGet, s.url+"/v1/vaults/default/services/credential-usage?key=STRIPE_KEY", bob.token(), nil); r.status != http.StatusNotFound {
		t.Errorf("credential-usage of a vault bob is not in: %s, want 404", r)
	}
	// A member who did not send an invite and administers none of its
	// vaults cannot re-send it (it would become theirs).
	inv2 := jsonObject(t, "invite 2", call(t, http.MethodPost, s.url+"/v1/users/invites", tok, map[string]any{"email": "carol@example.com"}), http.StatusCreated)
	if r := call(t, http.MethodPost, s.url+"/v1/users/invites/"+inv2["token"].(string)+"/reinvite", bob.token(), nil); r.status < 400 {
		t.Errorf("bob re-sent the owner's invite: %s", r)
	}
}

func itoa(n int) string { return strings.TrimSpace(string(mustJSON(nil, n))) }

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil && t != nil {
		t.Fatal(err)
	}
	return b
}
