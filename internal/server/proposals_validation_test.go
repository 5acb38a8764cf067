package server_test

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

// TestProposalsValidation covers every limit and rule of docs/protocol.md, "Proposals" (and the
// broker's own): each violation is a 400 naming the field (and, for a
// limit, the limit), an ambiguous host is a 409 with candidates, and the
// cases at the limit are accepted.
func TestProposalsValidation(t *testing.T) {
	f := newPP(t)
	// The vault's state the rules resolve against: a credential used by a
	// service, and two services on one host (distinct paths).
	mustOK(t, "set credentials", func() error {
		_, err := f.own.SetCredentials(cbg, "default", map[string]string{"EXISTING_KEY": f.secret("existing")})
		return err
	}())
	_, err := f.own.UpsertServices(cbg, "default", []apitype.Service{
		{Name: "alpha", Host: "api.alpha.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "EXISTING_KEY"}},
		{Name: "shared-a", Host: "shared.test/a/*", Auth: apitype.ServiceAuth{Type: "bearer", Token: "EXISTING_KEY"}},
		{Name: "shared-b", Host: "shared.test/b/*", Auth: apitype.ServiceAuth{Type: "passthrough"}},
	})
	mustOK(t, "upsert services", err)

	str := func(r string, n int) string { return strings.Repeat(r, n) }
	sp := func(s string) *string { return &s }
	slots := func(n int) []apitype.ProposalCredential {
		out := make([]apitype.ProposalCredential, n)
		for i := range out {
			out[i] = ppSlot("SLOT_" + strconv.Itoa(i))
		}
		return out
	}
	services := func(n int) []apitype.ProposalService {
		out := make([]apitype.ProposalService, n)
		for i := range out {
			out[i] = apitype.ProposalService{Action: "set", Name: "svc-" + strconv.Itoa(i), Host: "svc" + strconv.Itoa(i) + ".example.test", Auth: &apitype.ServiceAuth{Type: "passthrough"}}
		}
		return out
	}
	cred := func(c apitype.ProposalCredential) apitype.CreateProposalRequest {
		return apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{c}}
	}
	oauth := func(tokenURL, authURL string) apitype.ProposalCredential {
		return apitype.ProposalCredential{Action: "set", Key: "GH_TOKEN", Type: "oauth", OAuth: &apitype.OAuthConfig{TokenURL: tokenURL, AuthorizationURL: authURL}}
	}
	svc := func(s apitype.ProposalService, cs ...apitype.ProposalCredential) apitype.CreateProposalRequest {
		return apitype.CreateProposalRequest{Services: []apitype.ProposalService{s}, Credentials: cs}
	}
	bearerHost := func(host, key string) apitype.ProposalService {
		return apitype.ProposalService{Action: "set", Host: host, Auth: &apitype.ServiceAuth{Type: "bearer", Token: key}}
	}

	cases := []struct {
		name  string
		in    apitype.CreateProposalRequest
		code  int    // HTTP status wanted
		field string // field an error must name
		limit string // text a limit error must mention
	}{
		// Shape.
		{"empty proposal", apitype.CreateProposalRequest{}, 400, "services", ""},
		{"11 services", apitype.CreateProposalRequest{Services: services(11)}, 400, "services", "10"},
		{"10 services", apitype.CreateProposalRequest{Services: services(10)}, 201, "", ""},
		{"11 credential slots", apitype.CreateProposalRequest{Credentials: slots(11)}, 400, "credentials", "10"},
		{"10 credential slots", apitype.CreateProposalRequest{Credentials: slots(10)}, 201, "", ""},
		// Text limits, counted in characters (é is two bytes).
		{"message 2001", apitype.CreateProposalRequest{Credentials: slots(1), Message: str("m", 2001)}, 400, "message", "2000"},
		{"message 2000 chars", apitype.CreateProposalRequest{Credentials: slots(1), Message: str("é", 2000)}, 201, "", ""},
		{"user_message 5001", apitype.CreateProposalRequest{Credentials: slots(1), UserMessage: str("u", 5001)}, 400, "user_message", "5000"},
		{"user_message 5000 chars", apitype.CreateProposalRequest{Credentials: slots(1), UserMessage: str("é", 5000)}, 201, "", ""},
		{"description 501", cred(apitype.ProposalCredential{Action: "set", Key: "K", Description: str("d", 501)}), 400, "credentials[0].description", "500"},
		{"obtain 501", cred(apitype.ProposalCredential{Action: "set", Key: "K", Obtain: "https://x.test/" + str("o", 486)}), 400, "credentials[0].obtain", "500"},
		{"obtain_instructions 1001", cred(apitype.ProposalCredential{Action: "set", Key: "K", ObtainInstructions: str("i", 1001)}), 400, "credentials[0].obtain_instructions", "1000"},
		{"all slot texts at their limits", cred(apitype.ProposalCredential{Action: "set", Key: "K", Description: str("d", 500), Obtain: str("o", 500), ObtainInstructions: str("i", 1000)}), 201, "", ""},
		// Actions.
		{"unknown service action", svc(apitype.ProposalService{Action: "upsert", Name: "x", Host: "x.test", Auth: &apitype.ServiceAuth{Type: "passthrough"}}), 400, "services[0].action", ""},
		{"missing service action", svc(apitype.ProposalService{Name: "x", Host: "x.test", Auth: &apitype.ServiceAuth{Type: "passthrough"}}), 400, "services[0].action", ""},
		{"unknown credential action", cred(apitype.ProposalCredential{Action: "rotate", Key: "K"}), 400, "credentials[0].action", ""},
		// Set service: name, or a host naming one existing service.
		{"set without name and host", svc(apitype.ProposalService{Action: "set", Auth: &apitype.ServiceAuth{Type: "passthrough"}}), 400, "services[0].name", ""},
		{"set by host naming no service", svc(bearerHost("nothing.test", "EXISTING_KEY")), 400, "services[0].name", ""},
		{"set by ambiguous host", svc(bearerHost("shared.test", "EXISTING_KEY")), 409, "", ""},
		{"set without auth", svc(apitype.ProposalService{Action: "set", Name: "x", Host: "x.test"}), 400, "services[0].auth", ""},
		{"set with a bad name", svc(apitype.ProposalService{Action: "set", Name: "Bad Name", Host: "x.test", Auth: &apitype.ServiceAuth{Type: "passthrough"}}), 400, "services[0].name", ""},
		{"set with a bad host", svc(apitype.ProposalService{Action: "set", Name: "xyz", Host: "x.test/**", Auth: &apitype.ServiceAuth{Type: "passthrough"}}), 400, "services[0].host", ""},
		{"passthrough with a credential", svc(apitype.ProposalService{Action: "set", Name: "xyz", Host: "x.test", Auth: &apitype.ServiceAuth{Type: "passthrough", Token: "EXISTING_KEY"}}), 400, "services[0].auth.token", ""},
		// Delete service: by name, or by unique host.
		{"delete unknown service", svc(apitype.ProposalService{Action: "delete", Name: "nope"}), 400, "services[0].name", ""},
		{"delete without name or host", svc(apitype.ProposalService{Action: "delete"}), 400, "services[0].name", ""},
		{"delete by ambiguous host", svc(apitype.ProposalService{Action: "delete", Host: "shared.test"}), 409, "", ""},
		// Referenced keys resolve to a slot or an existing credential.
		{"key without slot or credential", svc(ppBearer("new-svc", "new.test", "MISSING_KEY")), 400, "services[0].auth", ""},
		{"key deleted by the same proposal", svc(ppBearer("new-svc", "new.test", "EXISTING_KEY"), apitype.ProposalCredential{Action: "delete", Key: "EXISTING_KEY"}), 400, "services[0].auth", ""},
		{"custom header key without slot", svc(apitype.ProposalService{Action: "set", Name: "ccc", Host: "c.test", Auth: &apitype.ServiceAuth{Type: "custom", Headers: map[string]string{"X-Key": "{{ MISSING_KEY }}"}}}), 400, "services[0].auth", ""},
		{"key of an existing credential", svc(ppBearer("uses-existing", "existing.test", "EXISTING_KEY")), 201, "", ""},
		// Credential slots.
		{"delete unknown credential", cred(apitype.ProposalCredential{Action: "delete", Key: "NOPE_KEY"}), 400, "credentials[0].key", ""},
		{"delete slot with a value", cred(apitype.ProposalCredential{Action: "delete", Key: "EXISTING_KEY", Value: sp("v")}), 400, "credentials[0].value", ""},
		{"duplicate key", apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{ppSlot("DUP_KEY"), ppSlot("DUP_KEY")}}, 400, "credentials[1].key", ""},
		{"key not UPPER_SNAKE", cred(ppSlot("lower_key")), 400, "credentials[0].key", ""},
		{"unknown slot type", cred(apitype.ProposalCredential{Action: "set", Key: "K", Type: "magic"}), 400, "credentials[0].type", ""},
		{"empty agent value", cred(apitype.ProposalCredential{Action: "set", Key: "K", Value: sp("")}), 400, "credentials[0].value", ""},
		{"agent value over 64 KiB", cred(apitype.ProposalCredential{Action: "set", Key: "K", Value: sp(str("v", 64<<10+1))}), 400, "credentials[0].value", ""},
		{"oauth settings on a static slot", cred(apitype.ProposalCredential{Action: "set", Key: "K", OAuth: &apitype.OAuthConfig{TokenURL: "https://t.test/token"}}), 400, "credentials[0].oauth", ""},
		{"oauth slot without settings", cred(apitype.ProposalCredential{Action: "set", Key: "GH_TOKEN", Type: "oauth"}), 400, "credentials[0].oauth.token_url", ""},
		{"oauth slot without token_url", cred(oauth("", "")), 400, "credentials[0].oauth.token_url", ""},
		{"oauth slot with http token_url", cred(oauth("http://t.test/token", "")), 400, "credentials[0].oauth.token_url", ""},
		{"oauth slot with http authorization_url", cred(oauth("https://t.test/token", "http://t.test/authorize")), 400, "credentials[0].oauth.authorization_url", ""},
		{"value on an oauth slot", cred(func() apitype.ProposalCredential { c := oauth("https://t.test/token", ""); c.Value = sp("v"); return c }()), 400, "credentials[0].value", ""},
		{"oauth slot", cred(oauth("https://t.test/token", "https://t.test/authorize")), 201, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := f.bot.CreateProposal(cbg, "default", tc.in)
			if tc.code == 201 {
				mustOK(t, tc.name, err)
				f.keep(ppApprovalToken(t, out))
				if out.Status != "pending" || out.Vault != "default" || !strings.Contains(out.ApprovalURL, "/approve/"+strconv.FormatInt(out.ID, 10)+"?token=av_appr_") {
					t.Errorf("created = %+v", out)
				}
				// Keep the pending quota free for the other cases.
				_, err := f.own.RejectProposal(cbg, out.ID, "validation test")
				mustOK(t, "reject", err)
				return
			}
			body := wantAPIErr(t, tc.name, err, tc.code, tc.field)
			if tc.limit != "" && !strings.Contains(body.Error, tc.limit) {
				t.Errorf("%s: message %q does not name the limit %s", tc.name, body.Error, tc.limit)
			}
			if tc.code == 409 {
				if body.Code != "ambiguous_service" || len(body.Candidates) != 2 {
					t.Errorf("%s: 409 body = %+v, want code ambiguous_service and 2 candidates", tc.name, body)
				}
			}
		})
	}

	// Nothing refused above was stored.
	l, err := f.own.AdminProposals(cbg, "default", "pending")
	mustOK(t, "admin list", err)
	if len(l.Proposals) != 0 {
		t.Errorf("pending after the table = %d, want 0", len(l.Proposals))
	}

	// A set by host resolving a unique existing service names it; the
	// approved change updates that service in place.
	out := f.propose(t, svc(bearerHost("api.alpha.test", "ALPHA_KEY"), ppSlot("ALPHA_KEY")))
	p, err := f.bot.Proposal(cbg, out.ID)
	mustOK(t, "get", err)
	if len(p.Services) != 1 || p.Services[0].Name != "alpha" || p.Services[0].Host != "api.alpha.test" {
		t.Fatalf("set by host stored %+v, want the service named alpha", p.Services)
	}
	_, err = f.own.ApproveProposal(cbg, out.ID, map[string]string{"ALPHA_KEY": f.secret("alpha")})
	mustOK(t, "approve set by host", err)
	sl, err := f.own.Services(cbg, "default")
	mustOK(t, "services", err)
	if len(sl.Services) != 3 || sl.Services[0].Name != "alpha" || sl.Services[0].Auth.Token != "ALPHA_KEY" {
		t.Errorf("services after set by host = %+v", sl.Services)
	}

	// A delete by a unique host resolves to that service.
	out = f.propose(t, svc(apitype.ProposalService{Action: "delete", Host: "shared.test/b/*"}))
	p, err = f.own.AdminProposal(cbg, out.ID)
	mustOK(t, "admin get", err)
	if p.Services[0].Name != "shared-b" {
		t.Errorf("delete by host stored %+v, want shared-b", p.Services[0])
	}

	// Listing filters are validated too.
	_, err = f.bot.Proposals(cbg, "default", "bogus")
	wantAPIErr(t, "agent list ?status=bogus", err, 400, "status")
	_, err = f.own.AdminProposals(cbg, "", "bogus")
	wantAPIErr(t, "admin list ?status=bogus", err, 400, "status")
	if err == nil || !strings.Contains(err.Error(), "expired or all") {
		t.Errorf("admin list ?status=bogus: %v, want the statuses it takes, all included", err)
	}
	// "all" is every status, as no filter is.
	every, err := f.own.AdminProposals(cbg, "", "")
	mustOK(t, "admin list", err)
	all, err := f.own.AdminProposals(cbg, "", "all")
	mustOK(t, "admin list ?status=all", err)
	if len(every.Proposals) == 0 || len(all.Proposals) != len(every.Proposals) {
		t.Errorf("?status=all listed %d proposals, no filter %d", len(all.Proposals), len(every.Proposals))
	}
	mine, err := f.bot.Proposals(cbg, "default", "all")
	mustOK(t, "agent list ?status=all", err)
	if len(mine.Proposals) == 0 {
		t.Error("agent list ?status=all listed nothing")
	}

	// The reject reason has a limit.
	_, err = f.own.RejectProposal(cbg, out.ID, str("r", 2001))
	wantAPIErr(t, "reason 2001", err, 400, "reason")

	// Approval values must fill a static set slot of the proposal.
	out = f.propose(t, apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{ppSlot("FILL_KEY"), oauth("https://t.test/token", "")}})
	_, err = f.own.ApproveProposal(cbg, out.ID, map[string]string{"OTHER_KEY": "x"})
	wantAPIErr(t, "approve with a value for no slot", err, 400, "credentials.OTHER_KEY")
	_, err = f.own.ApproveProposal(cbg, out.ID, map[string]string{"FILL_KEY": "x", "GH_TOKEN": "x"})
	wantAPIErr(t, "approve with a value for the oauth slot", err, 400, "credentials.GH_TOKEN")
	_, err = f.own.ApproveProposal(cbg, out.ID, nil)
	wantAPIErr(t, "approve without the slot's value", err, 400, "credentials.FILL_KEY")
	if st := f.ppStatus(t, out.ID); st != "pending" {
		t.Errorf("after refused approvals status = %s, want pending", st)
	}
}

// TestProposalsPendingQuota: the 21st pending proposal of a vault is a 429
// with a clear message; deciding one or expiry frees the quota; expired
// proposals cannot be decided.
func TestProposalsPendingQuota(t *testing.T) {
	f := newPP(t)
	var ids []int64
	for i := 0; i < 20; i++ {
		ids = append(ids, f.proposeCrowd(t, i, ppOne("q-"+strconv.Itoa(i), "Q_KEY_"+strconv.Itoa(i))).ID)
	}
	fresh := f.crowdMember(t, 4) // an agent with no proposal yet: only the vault's limit refuses it
	_, err := fresh.CreateProposal(cbg, "default", ppOne("q-20", "Q_KEY_20"))
	body := wantAPIErr(t, "21st pending proposal", err, http.StatusTooManyRequests, "")
	if body.Code != "too_many_proposals" || !strings.Contains(body.Error, "20") || !strings.Contains(body.Error, "approve or reject") {
		t.Errorf("429 body = %+v, want code too_many_proposals and a message saying what to do", body)
	}
	// The quota is per vault: another vault still takes proposals.
	mkVault(t, f.own, "other")
	_, err = f.own.AddVaultAgent(cbg, "other", "bot", "proxy")
	mustOK(t, "grant other", err)
	o, err := f.bot.CreateProposal(cbg, "other", ppOne("q-other", "Q_OTHER"))
	mustOK(t, "proposal in another vault", err)
	f.keep(ppApprovalToken(t, o))

	// Rejecting one frees a place.
	_, err = f.own.RejectProposal(cbg, ids[0], "make room")
	mustOK(t, "reject", err)
	last := f.proposeCrowd(t, 0, ppOne("q-20", "Q_KEY_20")) // crowd-0 had ids[0]
	_, err = fresh.CreateProposal(cbg, "default", ppOne("q-21", "Q_KEY_21"))
	wantAPIErr(t, "full again", err, http.StatusTooManyRequests, "")

	// Seven days later every one of them has expired: the quota is free.
	f.e.clock.Advance(7*24*time.Hour + time.Second)
	l, err := f.bot.Proposals(cbg, "default", "pending")
	mustOK(t, "list pending", err)
	if len(l.Proposals) != 0 {
		t.Errorf("pending after 7 days = %d, want 0", len(l.Proposals))
	}
	l, err = f.own.AdminProposals(cbg, "default", "expired")
	mustOK(t, "admin list expired", err)
	if len(l.Proposals) != 20 {
		t.Errorf("expired after 7 days = %d, want 20", len(l.Proposals))
	}
	for i := 0; i < 20; i++ {
		f.proposeCrowd(t, i, ppOne("r-"+strconv.Itoa(i), "R_KEY_"+strconv.Itoa(i)))
	}
	_, err = fresh.CreateProposal(cbg, "default", ppOne("r-20", "R_KEY_20"))
	wantAPIErr(t, "full after refilling", err, http.StatusTooManyRequests, "")

	// An expired proposal can be neither approved nor rejected.
	_, err = f.own.ApproveProposal(cbg, last.ID, map[string]string{"Q_KEY_20": f.secret("late")})
	if status(err) != http.StatusConflict || ppCode(err) != "proposal_expired" {
		t.Errorf("approve expired = %d %q (%v), want 409 proposal_expired", status(err), ppCode(err), err)
	}
	_, err = f.own.RejectProposal(cbg, last.ID, "late")
	if status(err) != http.StatusConflict || ppCode(err) != "proposal_expired" {
		t.Errorf("reject expired = %d %q, want 409 proposal_expired", status(err), ppCode(err))
	}
	if st := f.ppStatus(t, last.ID); st != "expired" {
		t.Errorf("status = %s, want expired", st)
	}
	if v := ppValues(t, f.own, "default"); len(v) != 0 {
		t.Errorf("credentials after expired approvals = %v, want none", v)
	}
	// The rejected one stays rejected, with its reason.
	p, err := f.bot.Proposal(cbg, ids[0])
	mustOK(t, "get rejected", err)
	if p.Status != "rejected" || p.RejectionReason != "make room" || p.DecidedBy != "a user" || p.DecidedAt == nil {
		t.Errorf("rejected proposal = %+v", p)
	}
}

// TestProposalsPerAgentQuota: one agent holds at most five pending
// proposals in a vault, those of the vault sessions it minted included,
// so a hostile agent cannot take every slot; other agents still propose,
// and deciding one frees a place. A session a human minted counts on its
// own.
func TestProposalsPerAgentQuota(t *testing.T) {
	f := newPP(t)
	// A member agent, which may mint vault sessions.
	bot := f.e.as(f.agent(t, f.own, "minter", "", apitype.AgentVault{VaultName: "default", VaultRole: "member"}))
	raise := func(c *client.Client, what string, in apitype.CreateProposalRequest) int64 {
		t.Helper()
		o, err := c.CreateProposal(cbg, "default", in)
		mustOK(t, what, err)
		f.keep(ppApprovalToken(t, o))
		return o.ID
	}
	var ids []int64
	for i := 0; i < model.MaxPendingPerAgent-1; i++ {
		ids = append(ids, raise(bot, "proposal "+strconv.Itoa(i), ppOne("a-"+strconv.Itoa(i), "A_KEY_"+strconv.Itoa(i))))
	}
	// The bot's own vault session raises the fifth: it counts as the bot.
	sess := f.e.as(f.session(t, bot, "default", "proxy"))
	raise(sess, "fifth, from the bot's session", ppOne("a-s", "A_KEY_S"))
	for name, c := range map[string]*client.Client{"the bot": bot, "the bot's session": sess} {
		_, err := c.CreateProposal(cbg, "default", ppOne("a-x", "A_KEY_X"))
		body := wantAPIErr(t, "sixth from "+name, err, http.StatusTooManyRequests, "")
		if body.Code != "too_many_proposals" || !strings.Contains(body.Error, "5 pending") || !strings.Contains(body.Error, "approve or reject") {
			t.Errorf("429 body = %+v, want too_many_proposals saying how many and what to do", body)
		}
	}
	// Another agent is not held up.
	f.proposeCrowd(t, 0, ppOne("b-0", "B_KEY_0"))
	// A session the owner minted counts on its own.
	human := f.e.as(f.session(t, f.own, "default", "proxy"))
	raise(human, "proposal from a human's session", ppOne("h-0", "H_KEY_0"))
	// Deciding one frees a place for the bot.
	_, err := f.own.RejectProposal(cbg, ids[0], "make room")
	mustOK(t, "reject", err)
	raise(bot, "after a rejection", ppOne("a-again", "A_KEY_AGAIN"))
}

// TestProposalsExpireAtTheBoundary: a proposal is pending until exactly
// seven days have passed, and the sweeper agrees with the read-time check.
func TestProposalsExpireAtTheBoundary(t *testing.T) {
	f := newPP(t)
	out := f.propose(t, ppOne("edge", "EDGE_KEY"))
	if want := f.e.clock.Now().Add(7 * 24 * time.Hour); !out.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %s, want %s", out.ExpiresAt, want)
	}
	f.e.clock.Advance(7*24*time.Hour - time.Second)
	if st := f.ppStatus(t, out.ID); st != "pending" {
		t.Fatalf("one second before expiry: %s, want pending", st)
	}
	f.e.clock.Advance(time.Second)
	if st := f.ppStatus(t, out.ID); st != "expired" {
		t.Fatalf("at expiry: %s, want expired", st)
	}
	_, err := f.own.ApproveProposal(cbg, out.ID, map[string]string{"EDGE_KEY": "x"})
	if status(err) != http.StatusConflict || ppCode(err) != "proposal_expired" {
		t.Errorf("approve at expiry = %d %q, want 409 proposal_expired", status(err), ppCode(err))
	}
}
