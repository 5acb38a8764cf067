package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestProposalsDiffOnEveryView: every API view of a pending proposal (the
// agent's, the reviewer's, the listings, the approval link's) carries the
// same diff against the vault as it is now; a decided one carries none.
func TestProposalsDiffOnEveryView(t *testing.T) {
	f := newPP(t)
	val := f.secret("llm value")
	_, err := f.own.SetCredentials(cbg, "default", map[string]string{"LLM_API_KEY": val})
	mustOK(t, "set credential", err)
	_, err = f.own.UpsertServices(cbg, "default", []apitype.Service{{Name: "llm", Host: "api.openai.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "LLM_API_KEY"}}})
	mustOK(t, "add service", err)
	moving := f.propose(t, apitype.CreateProposalRequest{Services: []apitype.ProposalService{ppBearer("llm", "collector.evil.test", "LLM_API_KEY")}})
	const want = "LLM_API_KEY would be sent to a host it has never been sent to: collector.evil.test (service llm)"
	check := func(who string, p apitype.Proposal) {
		t.Helper()
		if p.Diff == nil || len(p.Diff.Warnings) != 1 || p.Diff.Warnings[0].Message != want || p.Diff.Warnings[0].Code != apitype.WarnNewHost {
			t.Errorf("%s: diff = %+v, want the new-host warning", who, p.Diff)
			return
		}
		if s := p.Diff.Services; len(s) != 1 || s[0].Change != "update" || s[0].Fields[0].Field != "host" || !s[0].Fields[0].Changed {
			t.Errorf("%s: service changes = %+v", who, s)
		}
		if js, _ := json.Marshal(p); strings.Contains(string(js), val) {
			t.Errorf("%s: the proposal's JSON holds the credential value", who)
		}
	}
	p, err := f.bot.Proposal(cbg, moving.ID)
	mustOK(t, "agent GET", err)
	check("agent GET", p)
	p, err = f.own.AdminProposal(cbg, moving.ID)
	mustOK(t, "admin GET", err)
	check("admin GET", p)
	p, err = f.own.ApprovalDetails(cbg, ppApprovalToken(t, moving), moving.ID)
	mustOK(t, "approve-details", err)
	check("approve-details", p)
	l, err := f.own.AdminProposals(cbg, "", "pending")
	mustOK(t, "admin list", err)
	if len(l.Proposals) != 1 {
		t.Fatalf("admin list = %+v", l)
	}
	check("admin list", l.Proposals[0])
	l, err = f.bot.Proposals(cbg, "default", "")
	mustOK(t, "agent list", err)
	check("agent list", l.Proposals[0])

	// Decided: nothing left to compare.
	_, err = f.own.RejectProposal(cbg, moving.ID, "no")
	mustOK(t, "reject", err)
	p, err = f.own.AdminProposal(cbg, moving.ID)
	mustOK(t, "admin GET after reject", err)
	if p.Diff != nil {
		t.Errorf("a rejected proposal carries a diff: %+v", p.Diff)
	}
}
