package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestProposalsOAuthSlotPublicShape: an agent written for the public
// Agent Vault API proposes an OAuth slot as that API documents it, scopes
// as one string with the separator, auth method and PKCE choice beside
// it. The proposal is accepted, shows the slot's settings for review, and
// the approved credential is connected with them.
func TestProposalsOAuthSlotPublicShape(t *testing.T) {
	f := newPP(t)
	body := `{"services":[{"action":"set","name":"slack","host":"slack.test","auth":{"type":"bearer","token":"SLACK"}}],
	 "credentials":[{"action":"set","key":"SLACK","type":"oauth","description":"Slack",
	  "oauth":{"authorization_url":"https://slack.test/oauth/v2/authorize","token_url":"https://slack.test/api/oauth.v2.access",
	   "client_id":"cid","scopes":"chat:write,users:read","scope_separator":",","disable_pkce":true,"token_auth_method":"client_secret_basic"}}]}`
	r := f.raw(t, http.MethodPost, "/v1/proposals", f.botTok, body, "X-Vault", "default")
	if r.code != http.StatusCreated {
		t.Fatalf("proposal in the public API's shape: %d %s", r.code, r.body)
	}
	var created apitype.ProposalCreated
	r.into(t, &created)
	f.keep(ppApprovalToken(t, created))

	p, err := f.own.AdminProposal(cbg, created.ID)
	mustOK(t, "admin get", err)
	o := p.Credentials[0].OAuth
	if o == nil || strings.Join(o.Scopes, " ") != "chat:write users:read" || o.ScopeSeparator != "," || !o.DisablePKCE || o.TokenAuthMethod != "client_secret_basic" {
		t.Fatalf("slot under review = %+v", o)
	}

	_, err = f.own.ApproveProposal(cbg, created.ID, nil)
	mustOK(t, "approve", err)
	st, err := f.own.OAuthStatus(cbg, "default", "SLACK")
	mustOK(t, "status", err)
	if st.Status != "pending" || st.TokenAuthMethod != "client_secret_basic" || strings.Join(st.Scopes, " ") != "chat:write users:read" {
		t.Fatalf("approved slot = %+v", st)
	}

	// Connecting with the key and the secret alone uses the slot's
	// settings: comma-joined scopes and, as proposed, no PKCE.
	r = f.raw(t, http.MethodPost, "/v1/credentials/oauth/connect", f.ownTok, map[string]any{"vault": "default", "key": "SLACK", "client_secret": "s"})
	if r.code != http.StatusOK {
		t.Fatalf("connect: %d %s", r.code, r.body)
	}
	var started apitype.OAuthConnectStarted
	r.into(t, &started)
	u, err := url.Parse(started.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("scope") != "chat:write,users:read" || q.Has("code_challenge") || q.Get("client_id") != "cid" {
		t.Fatalf("authorization URL %s", started.AuthorizationURL)
	}
}

// TestProposalsOAuthSlotRefusesBadSettings: the settings an agent
// proposes are checked when it proposes them, each refusal naming the
// field.
func TestProposalsOAuthSlotRefusesBadSettings(t *testing.T) {
	f := newPP(t)
	for _, tc := range []struct {
		name, oauth, field string
	}{
		{"unknown auth method", `"token_auth_method":"private_key_jwt"`, "credentials[0].oauth.token_auth_method"},
		{"unknown separator", `"scope_separator":"|"`, "credentials[0].oauth.scope_separator"},
		{"public client without PKCE", `"token_auth_method":"none","disable_pkce":true`, "credentials[0].oauth.disable_pkce"},
		{"scopes neither string nor list", `"scopes":{"a":1}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"credentials":[{"action":"set","key":"K","type":"oauth","oauth":{"token_url":"https://idp.test/token",` + tc.oauth + `}}]}`
			r := f.raw(t, http.MethodPost, "/v1/proposals", f.botTok, body, "X-Vault", "default")
			if r.code != http.StatusBadRequest {
				t.Fatalf("%s: %d %s, want 400", tc.name, r.code, r.body)
			}
			var e apitype.ErrorBody
			r.into(t, &e)
			if tc.field != "" && e.Field != tc.field {
				t.Fatalf("%s: field %q (%s), want %q", tc.name, e.Field, e.Error, tc.field)
			}
		})
	}
}
