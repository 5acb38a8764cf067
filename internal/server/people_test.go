package server_test

// The proxy role (the vault's agents, and the vault sessions handed to
// them) learns nothing about who the vault's people are: no email address
// anywhere it can read. Members and admins keep seeing them.

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestProxyRoleSeesNoMemberEmails(t *testing.T) {
	f := newCfx(t)
	alice, _ := f.user(t, "alice@example.com")
	_, err := f.own.AddVaultUser(cbg, "default", apitype.VaultUserRequest{Email: "alice@example.com", Role: "member"})
	mustOK(t, "add alice", err)
	inv, err := f.own.CreateInvite(cbg, apitype.InviteRequest{Email: "pending@example.com", Vaults: []apitype.UserVault{{VaultName: "default", VaultRole: "member"}}})
	mustOK(t, "invite into default", err)
	f.keep(inv.Token)

	// A proposal a user raised and another user decided: both named.
	p, err := alice.CreateProposal(cbg, "default", apitype.CreateProposalRequest{Message: "m", Credentials: []apitype.ProposalCredential{{Action: "set", Key: "PEOPLE_KEY"}}})
	mustOK(t, "alice proposes", err)
	_, err = f.own.RejectProposal(cbg, p.ID, "no")
	mustOK(t, "owner rejects", err)
	appr := ppApprovalToken(t, p)
	f.keep(appr)

	// An agent with instance role member: it may manage agents, not read
	// the user directory.
	proxyAgent := f.agent(t, f.own, "px-bot", "member", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"})
	proxySession := f.session(t, f.own, "default", "proxy")
	memberAgent := f.agent(t, f.own, "mb-bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"})

	id := strconv.FormatInt(p.ID, 10)
	reads := []string{
		"/v1/vaults/default/users", "/v1/proposals", "/v1/proposals/" + id, "/v1/proposals?status=rejected",
		"/discover", "/v1/vaults", "/v1/auth/me", "/v1/users", "/v1/users/invites", "/v1/vaults/default/agents",
		"/v1/vaults/default/settings", "/v1/credentials", "/v1/vaults/default/services", "/v1/agents", "/v1/sessions",
		"/v1/proposals/approve-details?token=" + appr,
	}
	for name, tok := range map[string]string{"proxy-role agent": proxyAgent, "proxy-role vault session": proxySession} {
		for _, path := range reads {
			r := f.raw(t, http.MethodGet, path, tok, nil, "X-Vault", "default")
			if bytes.Contains(r.body, []byte("@example.com")) {
				t.Errorf("%s: GET %s = %d and names a person: %s", name, path, r.code, r.body)
			}
		}
		r := f.raw(t, http.MethodGet, "/v1/vaults/default/users", tok, nil)
		if r.code != http.StatusForbidden || !bytes.Contains(r.body, []byte("member")) {
			t.Errorf("%s: member list = %d %s; want 403 naming the role needed", name, r.code, r.body)
		}
		var got apitype.Proposal
		r = f.raw(t, http.MethodGet, "/v1/proposals/"+id, tok, nil)
		r.into(t, &got)
		if got.CreatedBy != "a user" || got.CreatedByType != "user" || got.DecidedBy != "a user" || got.Status != "rejected" {
			t.Errorf("%s: proposal = %+v; want requester and decider shown as \"a user\"", name, got)
		}
	}
	r := f.raw(t, http.MethodGet, "/v1/users", proxyAgent, nil)
	if r.code != http.StatusForbidden {
		t.Errorf("instance-member agent listing users = %d, want 403", r.code)
	}
	// An owner-role agent manages only the agents it created
	// (TestOwnerRoleAgentCannotTakeOverOtherAgents), so it reads no
	// other agent's owner or creator either.
	ownerAgent := f.agent(t, f.own, "boss-bot", "owner", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"})
	r = f.raw(t, http.MethodGet, "/v1/agents/px-bot", ownerAgent, nil)
	if r.code != http.StatusForbidden || bytes.Contains(r.body, []byte("@example.com")) {
		t.Errorf("owner-role agent reading another's agent = %d %s; want 403 naming nobody", r.code, r.body)
	}
	if got, err := f.own.Agent(cbg, "px-bot"); err != nil || got.Owner != "owner@example.com" {
		t.Errorf("the owner user reading the agent = %+v, %v", got, err)
	}

	// The member role, and users, still see them.
	vu, err := f.e.as(memberAgent).VaultUsers(cbg, "default")
	if err != nil || len(vu.Users) != 3 {
		t.Errorf("member agent's member list = %+v, %v; want owner, alice and the pending invitee", vu, err)
	}
	mp, err := f.e.as(memberAgent).Proposal(cbg, p.ID)
	if err != nil || mp.CreatedBy != "alice@example.com" || mp.DecidedBy != "owner@example.com" {
		t.Errorf("member agent's proposal = %+v, %v", mp, err)
	}
	ap, err := f.own.AdminProposal(cbg, p.ID)
	if err != nil || ap.CreatedBy != "alice@example.com" || ap.DecidedBy != "owner@example.com" {
		t.Errorf("owner's review view = %+v, %v", ap, err)
	}
}
