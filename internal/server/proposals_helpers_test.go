package server_test

// Shared pieces of the TestProposals… tests. Every identifier here starts
// with "pp" so that the file cannot collide with other test files. The
// fixture builds on newCfx (contents_helpers_test.go), whose cleanup fails
// the test if any recorded secret or anything shaped like a token reaches
// the server's logs.

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/model"
)

// ppFix is a control plane whose owner is admin of "default", with an
// agent ("bot", vault role proxy in default) that raises proposals.
type ppFix struct {
	*cfx
	botTok string
	bot    *client.Client
	crowd  []*client.Client // more agents like bot, for filling a vault (proposeCrowd)
}

func newPP(t *testing.T) *ppFix {
	t.Helper()
	f := newCfx(t)
	tok := f.agent(t, f.own, "bot", "", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"})
	return &ppFix{cfx: f, botTok: tok, bot: f.e.as(tok)}
}

// propose raises in as the bot in vault default and records the approval
// token as a secret; it fails the test on an error.
func (f *ppFix) propose(t *testing.T, in apitype.CreateProposalRequest) apitype.ProposalCreated {
	t.Helper()
	out, err := f.bot.CreateProposal(cbg, "default", in)
	if err != nil {
		t.Fatalf("create proposal: %v", err)
	}
	f.keep(ppApprovalToken(t, out))
	return out
}

// proposeCrowd raises the i-th of many proposals: one agent holds at most
// model.MaxPendingPerAgent pending ones in a vault, so the i-th comes from
// the (i / that)-th of a crowd of agents like bot (made as needed), which
// a vault-wide limit test needs to fill the vault.
func (f *ppFix) proposeCrowd(t *testing.T, i int, in apitype.CreateProposalRequest) apitype.ProposalCreated {
	t.Helper()
	out, err := f.crowdMember(t, i/model.MaxPendingPerAgent).CreateProposal(cbg, "default", in)
	if err != nil {
		t.Fatalf("create proposal %d: %v", i, err)
	}
	f.keep(ppApprovalToken(t, out))
	return out
}

// crowdMember is the n-th agent of the crowd (proxy role in default).
func (f *ppFix) crowdMember(t *testing.T, n int) *client.Client {
	t.Helper()
	for len(f.crowd) <= n {
		tok := f.agent(t, f.own, "crowd-"+strconv.Itoa(len(f.crowd)), "", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"})
		f.crowd = append(f.crowd, f.e.as(tok))
	}
	return f.crowd[n]
}

// ppApprovalToken is the av_appr_ token of an approval URL.
func ppApprovalToken(t *testing.T, out apitype.ProposalCreated) string {
	t.Helper()
	u, err := url.Parse(out.ApprovalURL)
	if err != nil {
		t.Fatalf("approval_url %q: %v", out.ApprovalURL, err)
	}
	tok := u.Query().Get("token")
	if !strings.HasPrefix(tok, "av_appr_") {
		t.Fatalf("approval_url %q carries no av_appr_ token", out.ApprovalURL)
	}
	return tok
}

// ppBearer is a set service using bearer auth with key.
func ppBearer(name, host, key string) apitype.ProposalService {
	return apitype.ProposalService{Action: "set", Name: name, Host: host, Auth: &apitype.ServiceAuth{Type: "bearer", Token: key}}
}

// ppSlot is a set credential slot for key (a human supplies the value).
func ppSlot(key string) apitype.ProposalCredential {
	return apitype.ProposalCredential{Action: "set", Key: key}
}

// ppValued is a set slot carrying an agent-supplied value.
func ppValued(key, value string) apitype.ProposalCredential {
	return apitype.ProposalCredential{Action: "set", Key: key, Value: &value}
}

// ppOne is a proposal for one bearer service and its slot.
func ppOne(name, key string) apitype.CreateProposalRequest {
	return apitype.CreateProposalRequest{
		Services:    []apitype.ProposalService{ppBearer(name, name+".example.test", key)},
		Credentials: []apitype.ProposalCredential{ppSlot(key)},
	}
}

// ppStatus reads a proposal's status as its agent sees it.
func (f *ppFix) ppStatus(t *testing.T, id int64) string {
	t.Helper()
	p, err := f.bot.Proposal(cbg, id)
	mustOK(t, "agent GET proposal", err)
	return p.Status
}

// ppServiceNames lists the names of a vault's services.
func ppServiceNames(t *testing.T, c *client.Client, vault string) []string {
	t.Helper()
	l, err := c.Services(cbg, vault)
	mustOK(t, "list services", err)
	out := []string{}
	for _, s := range l.Services {
		out = append(out, s.Name)
	}
	return out
}

// ppValues reveals a vault's credentials as key → value.
func ppValues(t *testing.T, c *client.Client, vault string) map[string]string {
	t.Helper()
	l, err := c.Credentials(cbg, vault, true, "")
	mustOK(t, "reveal credentials", err)
	return credValues(l)
}

// ppCode is the error code of an API error ("" otherwise).
func ppCode(err error) string {
	if e, ok := err.(*client.APIError); ok {
		return e.Body.Code
	}
	return ""
}
