package server_test

// The per-agent pending-proposal cap against an agent that tries to shed
// its proposals by losing the vault sessions that raised them
// (docs/proposals.md, "How many proposals may be pending").

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/model"
)

// ppShortSession mints a vault session through by with the shortest TTL
// allowed and returns it (its token recorded as a secret).
func (f *ppFix) ppShortSession(t *testing.T, by *client.Client) apitype.ScopedSessionCreated {
	t.Helper()
	out, err := by.CreateScopedSession(cbg, apitype.CreateScopedSessionRequest{
		Vault: "default", VaultRole: "proxy", TTLSeconds: int(model.ScopedSessionMinTTL.Seconds())})
	if err != nil {
		t.Fatalf("mint a short vault session: %v", err)
	}
	f.keep(out.Token)
	return out
}

// ppRaise raises in through c in vault default and returns its id.
func (f *ppFix) ppRaise(t *testing.T, c *client.Client, what string, in apitype.CreateProposalRequest) int64 {
	t.Helper()
	o, err := c.CreateProposal(cbg, "default", in)
	mustOK(t, what, err)
	f.keep(ppApprovalToken(t, o))
	return o.ID
}

// ppWantQuota asserts that c is refused one more proposal by the
// per-agent cap.
func ppWantQuota(t *testing.T, what string, c *client.Client) {
	t.Helper()
	_, err := c.CreateProposal(cbg, "default", ppOne("over", "OVER_KEY"))
	body := wantAPIErr(t, what, err, http.StatusTooManyRequests, "")
	if body.Code != "too_many_proposals" || !strings.Contains(body.Error, strconv.Itoa(model.MaxPendingPerAgent)+" pending") {
		t.Errorf("%s: body = %+v, want too_many_proposals from the per-agent cap", what, body)
	}
}

// TestProposalsPerAgentQuotaOutlivesSessions: the proposals an agent
// raised through a vault session keep counting toward the agent for as
// long as they are pending, whatever becomes of the session: expired
// (agents may mint five-minute sessions), revoked by the agent itself, or
// ended by a rotation of the agent's token. Without that, an agent could
// raise five proposals per short-lived session and fill the vault's limit
// so that no other agent can raise anything.
func TestProposalsPerAgentQuotaOutlivesSessions(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lose makes the session that raised the proposals unusable
		// and returns the agent's client afterwards (a rotation issues
		// a new token).
		lose func(t *testing.T, f *ppFix, agent *client.Client, s apitype.ScopedSessionCreated) *client.Client
	}{
		{"the session expires", func(t *testing.T, f *ppFix, agent *client.Client, s apitype.ScopedSessionCreated) *client.Client {
			f.e.clock.Advance(model.ScopedSessionMinTTL + time.Second)
			return agent
		}},
		{"the agent revokes the session", func(t *testing.T, f *ppFix, agent *client.Client, s apitype.ScopedSessionCreated) *client.Client {
			_, err := agent.RevokeScopedSession(cbg, s.ID)
			mustOK(t, "the agent revokes its session", err)
			return agent
		}},
		{"the agent's token is rotated", func(t *testing.T, f *ppFix, agent *client.Client, s apitype.ScopedSessionCreated) *client.Client {
			out, err := f.own.RotateAgent(cbg, "minter")
			mustOK(t, "rotate the agent", err)
			f.keep(out.Token)
			return f.e.as(out.Token)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newPP(t)
			// A member agent, which may mint vault sessions.
			agent := f.e.as(f.agent(t, f.own, "minter", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"}))
			s := f.ppShortSession(t, agent)
			sess := f.e.as(s.Token)
			var ids []int64
			for i := 0; i < model.MaxPendingPerAgent; i++ {
				ids = append(ids, f.ppRaise(t, sess, "proposal "+strconv.Itoa(i)+" from the session", ppOne("a-"+strconv.Itoa(i), "A_KEY_"+strconv.Itoa(i))))
			}
			agent = tc.lose(t, f, agent, s)
			if _, err := sess.CreateProposal(cbg, "default", ppOne("gone", "GONE_KEY")); err == nil {
				t.Fatal("the lost session still raises proposals")
			}
			// Neither the agent itself nor a fresh session it mints
			// may raise more: the five are still the agent's.
			ppWantQuota(t, "the agent after losing its session", agent)
			ppWantQuota(t, "a fresh session of the agent", f.e.as(f.ppShortSession(t, agent).Token))
			// Another agent is not held up.
			f.proposeCrowd(t, 0, ppOne("b-0", "B_KEY_0"))
			// Deciding one frees exactly one place.
			_, err := f.own.RejectProposal(cbg, ids[0], "make room")
			mustOK(t, "reject", err)
			f.ppRaise(t, agent, "after a rejection", ppOne("a-again", "A_KEY_AGAIN"))
			ppWantQuota(t, "the agent once the freed place is taken", agent)
			// Proposals that expired count no more.
			f.e.clock.Advance(model.ProposalTTL)
			fresh := f.e.as(f.ppShortSession(t, agent).Token)
			for i := 0; i < model.MaxPendingPerAgent; i++ {
				f.ppRaise(t, fresh, "proposal "+strconv.Itoa(i)+" after the others expired", ppOne("c-"+strconv.Itoa(i), "C_KEY_"+strconv.Itoa(i)))
			}
			ppWantQuota(t, "the agent's new session once full", fresh)
		})
	}
}

// TestProposalsHumanSessionQuotaOnItsOwn: a vault session a human minted
// (agent-vault run) holds its own five places, apart from every agent's;
// an expired one's proposals do not burden the human's next session, and
// the agents' places are untouched by either.
func TestProposalsHumanSessionQuotaOnItsOwn(t *testing.T) {
	f := newPP(t)
	first := f.ppShortSession(t, f.own)
	c := f.e.as(first.Token)
	for i := 0; i < model.MaxPendingPerAgent; i++ {
		f.ppRaise(t, c, "proposal "+strconv.Itoa(i)+" from the human's session", ppOne("h-"+strconv.Itoa(i), "H_KEY_"+strconv.Itoa(i)))
	}
	ppWantQuota(t, "the human's session once full", c)
	// The bot's places are its own.
	for i := 0; i < model.MaxPendingPerAgent; i++ {
		f.propose(t, ppOne("b-"+strconv.Itoa(i), "B_KEY_"+strconv.Itoa(i)))
	}
	ppWantQuota(t, "the bot once full", f.bot)
	// A human's next session starts afresh (the human only meets the
	// vault's limit).
	f.e.clock.Advance(model.ScopedSessionMinTTL + time.Second)
	next := f.e.as(f.ppShortSession(t, f.own).Token)
	f.ppRaise(t, next, "from the human's next session", ppOne("n-0", "N_KEY_0"))
}

// TestProposalsPerAgentQuotaCoversAgentsItCreated: an agent with the
// instance role member may create agents of its own, which it manages and
// whose revocation follows its own (docs/services-and-agents.md). Were
// each of them to hold five places, a (prompt-injected) agent could fill
// the vault's twenty through four children, and no other agent could
// raise anything. So an agent, the agents it created, theirs in turn and
// the vault sessions of any of them share one agent's five; deleting a
// child frees none of them; the human's other agent is not held up.
func TestProposalsPerAgentQuotaCoversAgentsItCreated(t *testing.T) {
	f := newPP(t)
	parent := f.e.as(f.agent(t, f.own, "parent", "member", apitype.AgentVault{VaultName: "default", VaultRole: "member"}))
	child := f.e.as(f.agent(t, parent, "child", "member", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"}))
	grandchild := f.e.as(f.agent(t, child, "grandchild", ""))
	// An agent may grant only the proxy role, and only in a vault where
	// it may add agents; the vault's admin lets the family in further.
	_, err := f.own.AddVaultAgent(cbg, "default", "grandchild", "proxy")
	mustOK(t, "the admin adds the grandchild to the vault", err)
	_, err = f.own.SetVaultAgentRole(cbg, "default", "child", "member")
	mustOK(t, "the admin makes the child a vault member", err)
	childSession := f.e.as(f.ppShortSession(t, child).Token)
	for i, c := range []*client.Client{parent, child, grandchild, childSession, parent} {
		f.ppRaise(t, c, "proposal "+strconv.Itoa(i)+" of the family", ppOne("f-"+strconv.Itoa(i), "F_KEY_"+strconv.Itoa(i)))
	}
	ppWantQuota(t, "the parent once the family holds five", parent)
	ppWantQuota(t, "the child", child)
	ppWantQuota(t, "the grandchild", grandchild)
	ppWantQuota(t, "the child's vault session", childSession)
	// A child created now starts with nothing of its own either.
	late := f.e.as(f.agent(t, parent, "late-child", "", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"}))
	ppWantQuota(t, "a child created once the five are taken", late)
	// Deleting the child (which revokes the grandchild) frees nothing:
	// its proposals stay pending and stay the parent's.
	_, err = parent.DeleteAgent(cbg, "child")
	mustOK(t, "the parent deletes its child", err)
	ppWantQuota(t, "the parent after deleting its child", parent)
	ppWantQuota(t, "the other child after the first was deleted", late)
	// Another agent of the human still proposes, up to its own five.
	for i := 0; i < model.MaxPendingPerAgent; i++ {
		f.propose(t, ppOne("b-"+strconv.Itoa(i), "B_KEY_"+strconv.Itoa(i)))
	}
	ppWantQuota(t, "the bot once full", f.bot)
}

// TestProposalsChargedToAChildBeforeChainsSharedCountForTheChain: pending
// proposals a child agent raised before an agent's chain shared its five
// places were recorded against the child itself. They count for the
// chain's top agent too, while the child exists, so upgrading does not
// hand a family five more places per child for a week.
func TestProposalsChargedToAChildBeforeChainsSharedCountForTheChain(t *testing.T) {
	f := newPP(t)
	parent := f.e.as(f.agent(t, f.own, "parent", "member", apitype.AgentVault{VaultName: "default", VaultRole: "member"}))
	child := f.e.as(f.agent(t, parent, "child", "", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"}))
	for i := 0; i < 3; i++ {
		f.ppRaise(t, child, "the child's proposal "+strconv.Itoa(i), ppOne("c-"+strconv.Itoa(i), "C_KEY_"+strconv.Itoa(i)))
	}
	// As an older release recorded them: against the child.
	if _, err := f.e.db.SQL().Exec(`UPDATE proposals SET accountable_agent_id = (SELECT id FROM agents WHERE name = 'child')`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		f.ppRaise(t, parent, "the parent's proposal "+strconv.Itoa(i), ppOne("p-"+strconv.Itoa(i), "P_KEY_"+strconv.Itoa(i)))
	}
	ppWantQuota(t, "the parent, with three old proposals of its child pending", parent)
	ppWantQuota(t, "the child", child)
}

// TestAgentChainsAreBounded: agents that create agents that create agents
// stop at a depth of eight; the ninth is refused, saying why and that a
// person can create it.
func TestAgentChainsAreBounded(t *testing.T) {
	f := newPP(t)
	by := f.own
	for depth := 1; depth <= 8; depth++ {
		by = f.e.as(f.agent(t, by, "level-"+strconv.Itoa(depth), "member"))
	}
	_, err := by.CreateAgent(cbg, apitype.CreateAgentRequest{Name: "level-9"})
	if err == nil || !strings.Contains(err.Error(), "at most 8 deep") || !strings.Contains(err.Error(), "ask a person") {
		t.Fatalf("a ninth level: %v, want a refusal naming the bound", err)
	}
	if _, err := f.own.CreateAgent(cbg, apitype.CreateAgentRequest{Name: "level-9"}); err != nil {
		t.Fatalf("a person creating the same agent: %v", err)
	}
}
