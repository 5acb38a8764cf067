package server_test

import (
	"net/http"
	"reflect"
	"strings"
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

// TestPathEscapesRefusedOnSave: a path glob with an escape a request could
// never match (or with another written form) is refused when a member
// saves the service and when an agent proposes it, naming the field and
// what to write instead; one with a needed escape is saved.
func TestPathEscapesRefusedOnSave(t *testing.T) {
	f := newPP(t)
	_, err := f.own.UpsertServices(cbg, "default", []apitype.Service{{Name: "slashy", Host: "esc.test/a%2Fb/*", Auth: apitype.ServiceAuth{Type: "passthrough"}}})
	body := wantAPIErr(t, "an encoded slash in the host pattern", err, http.StatusBadRequest, "")
	if body.Field != "services[0].host" || !strings.Contains(body.Error, "write / itself") {
		t.Errorf("upsert refusal = %q on %q, want services[0].host saying what to write", body.Error, body.Field)
	}
	star := ppBearer("starry", "esc.test/files/%2A", "ESC_KEY")
	_, err = f.bot.CreateProposal(cbg, "default", apitype.CreateProposalRequest{Services: []apitype.ProposalService{star}, Credentials: []apitype.ProposalCredential{ppSlot("ESC_KEY")}})
	body = wantAPIErr(t, "an encoded * in a proposed host pattern", err, http.StatusBadRequest, "")
	if body.Field != "services[0].host" || !strings.Contains(body.Error, "write * for the wildcard") {
		t.Errorf("proposal refusal = %q on %q, want services[0].host saying what to write", body.Error, body.Field)
	}
	ruled := ppBearer("ruled", "esc.test/x/*", "ESC_KEY")
	ruled.Paths = &apitype.PathRules{Deny: []string{"/x/%61dmin*"}}
	_, err = f.bot.CreateProposal(cbg, "default", apitype.CreateProposalRequest{Services: []apitype.ProposalService{ruled}, Credentials: []apitype.ProposalCredential{ppSlot("ESC_KEY")}})
	body = wantAPIErr(t, "an escaped letter in a proposed deny rule", err, http.StatusBadRequest, "")
	if body.Field != "services[0].paths.deny[0]" || !strings.Contains(body.Error, "write a") {
		t.Errorf("proposal refusal = %q on %q, want services[0].paths.deny[0] saying what to write", body.Error, body.Field)
	}
	_, err = f.own.UpsertServices(cbg, "default", []apitype.Service{{Name: "spacey", Host: "esc.test/my%20files/*", Auth: apitype.ServiceAuth{Type: "passthrough"}}})
	mustOK(t, "a needed escape", err)
}
