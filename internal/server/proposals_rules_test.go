package server_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestProposalsCarryServiceRules: a proposal's service carries methods,
// paths and allow_plaintext to the applied service, invalid rules are
// refused at creation with the field named, and a set that leaves the
// rules out removes them (a set replaces the whole service).
func TestProposalsCarryServiceRules(t *testing.T) {
	f := newPP(t)
	svc := ppBearer("ruled", "ruled.test:8080", "RULED_KEY")
	svc.Methods = []string{"GET"}
	svc.Paths = &apitype.PathRules{Allow: []string{"/v1/*"}, Deny: []string{"/v1/admin*"}}
	svc.AllowPlaintext = true
	out := f.propose(t, apitype.CreateProposalRequest{Services: []apitype.ProposalService{svc}, Credentials: []apitype.ProposalCredential{ppSlot("RULED_KEY")}})
	_, err := f.own.ApproveProposal(cbg, out.ID, map[string]string{"RULED_KEY": f.secret("ruled")})
	mustOK(t, "approve", err)
	list, err := f.own.Services(cbg, "default")
	mustOK(t, "list", err)
	if len(list.Services) != 1 {
		t.Fatalf("services = %+v", list.Services)
	}
	got := list.Services[0]
	if !got.AllowPlaintext || !reflect.DeepEqual(got.Methods, svc.Methods) || got.Paths == nil ||
		!reflect.DeepEqual(*got.Paths, *svc.Paths) {
		t.Errorf("applied service = %+v, want the proposal's rules", got)
	}

	bad := ppBearer("bad", "bad.test:443", "RULED_KEY")
	bad.AllowPlaintext = true
	_, err = f.bot.CreateProposal(cbg, "default", apitype.CreateProposalRequest{Services: []apitype.ProposalService{bad}})
	body := wantAPIErr(t, "allow_plaintext on port 443", err, http.StatusBadRequest, "")
	if body.Field != "services[0].allow_plaintext" {
		t.Errorf("field = %q, want services[0].allow_plaintext (%s)", body.Field, body.Error)
	}

	out = f.propose(t, apitype.CreateProposalRequest{Services: []apitype.ProposalService{ppBearer("ruled", "ruled.test:8080", "RULED_KEY")}})
	_, err = f.own.ApproveProposal(cbg, out.ID, nil)
	mustOK(t, "approve without rules", err)
	list, err = f.own.Services(cbg, "default")
	mustOK(t, "list", err)
	if got := list.Services[0]; got.AllowPlaintext || got.Methods != nil || got.Paths != nil {
		t.Errorf("a set without rules kept them: %+v", got)
	}
}
