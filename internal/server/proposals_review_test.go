package server_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// TestProposalsOnlyUsersReview: no agent token (whatever its instance or
// vault role) and no scoped session (whatever its role) may approve,
// reject or use the review listings; a user with the member role in the
// vault may; a user outside the vault gets 404.
func TestProposalsOnlyUsersReview(t *testing.T) {
	f := newPP(t)
	out := f.propose(t, ppOne("gated", "GATED_KEY"))
	id := out.ID
	idPath := "/v1/admin/proposals/" + strconv.FormatInt(id, 10)

	agents := map[string]string{
		"agent proxy":                 f.agent(t, f.own, "a-proxy", "", apitype.AgentVault{VaultName: "default", VaultRole: "proxy"}),
		"agent member":                f.agent(t, f.own, "a-member", "member", apitype.AgentVault{VaultName: "default", VaultRole: "member"}),
		"agent vault admin":           f.agent(t, f.own, "a-admin", "member", apitype.AgentVault{VaultName: "default", VaultRole: "admin"}),
		"agent owner and vault admin": f.agent(t, f.own, "a-owner", "owner", apitype.AgentVault{VaultName: "default", VaultRole: "admin"}),
		"the proposing agent":         f.botTok,
		"scoped session admin":        f.session(t, f.own, "default", "admin"),
		"scoped session member":       f.session(t, f.own, "default", "member"),
		"scoped session proxy":        f.session(t, f.own, "default", "proxy"),
	}
	for who, tok := range agents {
		c := f.e.as(tok)
		_, err := c.ApproveProposal(cbg, id, map[string]string{"GATED_KEY": f.secret("by-" + strings.ReplaceAll(who, " ", "-"))})
		if status(err) != http.StatusForbidden {
			t.Errorf("%s: approve = %d (%v), want 403", who, status(err), err)
		}
		_, err = c.RejectProposal(cbg, id, "no")
		if status(err) != http.StatusForbidden {
			t.Errorf("%s: reject = %d, want 403", who, status(err))
		}
		_, err = c.AdminProposals(cbg, "", "")
		if status(err) != http.StatusForbidden {
			t.Errorf("%s: GET /v1/admin/proposals = %d, want 403", who, status(err))
		}
		_, err = c.AdminProposals(cbg, "default", "pending")
		if status(err) != http.StatusForbidden {
			t.Errorf("%s: GET /v1/admin/proposals?vault=default = %d, want 403", who, status(err))
		}
		if r := f.raw(t, http.MethodGet, idPath, tok, nil); r.code != http.StatusForbidden {
			t.Errorf("%s: GET %s = %d, want 403", who, idPath, r.code)
		}
		// The agent side stays open to them.
		p, err := c.Proposal(cbg, id)
		if err != nil || p.Status != "pending" {
			t.Errorf("%s: agent GET = %+v, %v", who, p, err)
		}
	}
	if st := f.ppStatus(t, id); st != "pending" {
		t.Fatalf("after agents tried: status %s, want pending", st)
	}
	if v := ppValues(t, f.own, "default"); len(v) != 0 {
		t.Fatalf("after agents tried: credentials %v, want none", v)
	}

	// A user outside the vault: 404 everywhere, and an empty review list.
	outsider, _ := f.user(t, "outsider@example.com")
	_, err := outsider.ApproveProposal(cbg, id, map[string]string{"GATED_KEY": "x"})
	wantAPIErr(t, "outsider approve", err, http.StatusNotFound, "")
	_, err = outsider.RejectProposal(cbg, id, "no")
	wantAPIErr(t, "outsider reject", err, http.StatusNotFound, "")
	_, err = outsider.AdminProposal(cbg, id)
	wantAPIErr(t, "outsider admin get", err, http.StatusNotFound, "")
	_, err = outsider.Proposal(cbg, id)
	wantAPIErr(t, "outsider agent get", err, http.StatusNotFound, "")
	if l, err := outsider.AdminProposals(cbg, "", ""); err != nil || len(l.Proposals) != 0 {
		t.Errorf("outsider review list = %+v, %v; want empty", l, err)
	}

	// An owner is no implicit member of a vault it has not joined.
	alice, _ := f.user(t, "alice@example.com")
	mkVault(t, alice, "team")
	_, err = alice.AddVaultAgent(cbg, "team", "bot", "proxy")
	mustOK(t, "grant bot team", err)
	teamOut, err := f.bot.CreateProposal(cbg, "team", ppOne("team-svc", "TEAM_KEY"))
	mustOK(t, "proposal in team", err)
	f.keep(ppApprovalToken(t, teamOut))
	_, err = f.own.ApproveProposal(cbg, teamOut.ID, map[string]string{"TEAM_KEY": "x"})
	wantAPIErr(t, "owner outside team approves", err, http.StatusNotFound, "")
	if l, err := f.own.AdminProposals(cbg, "", "pending"); err != nil || len(l.Proposals) != 1 || l.Proposals[0].ID != id {
		t.Errorf("owner review list = %+v, %v; want only proposal %d of default", l, err, id)
	}

	// A user with the member role in the vault approves.
	bob, _ := f.user(t, "bob@example.com")
	_, err = f.own.AddVaultUser(cbg, "default", apitype.VaultUserRequest{Email: "bob@example.com", Role: "member"})
	mustOK(t, "add bob", err)
	if l, err := bob.AdminProposals(cbg, "", "pending"); err != nil || len(l.Proposals) != 1 {
		t.Errorf("member review list = %+v, %v", l, err)
	}
	val := f.secret("gated")
	dec, err := bob.ApproveProposal(cbg, id, map[string]string{"GATED_KEY": val})
	mustOK(t, "member approves", err)
	if dec.Status != "applied" || dec.Vault != "default" || len(dec.Applied) != 2 {
		t.Errorf("approve answer = %+v", dec)
	}
	p, err := f.bot.Proposal(cbg, id)
	mustOK(t, "agent polls", err)
	// The proxy-role agent learns that a user decided, not who (emails
	// are not for the proxy role).
	if p.Status != "applied" || p.DecidedBy != "a user" {
		t.Errorf("after approval = %+v", p)
	}
	if got := ppValues(t, f.own, "default")["GATED_KEY"]; got != val {
		t.Errorf("GATED_KEY = %q, want the approved value", got)
	}
	if names := ppServiceNames(t, f.own, "default"); strings.Join(names, ",") != "gated" {
		t.Errorf("services = %v, want [gated]", names)
	}
	// Deciding twice is a conflict.
	_, err = bob.RejectProposal(cbg, id, "changed my mind")
	if status(err) != http.StatusConflict || ppCode(err) != "proposal_applied" {
		t.Errorf("reject after approve = %d %q, want 409 proposal_applied", status(err), ppCode(err))
	}
}

// TestProposalsApproveRejectRace approves and rejects each of a hundred
// proposals at the same moment: exactly one decision wins each time, the
// other gets 409, and the vault holds exactly what the approvals applied.
func TestProposalsApproveRejectRace(t *testing.T) {
	f := newPP(t)
	const total, batch = 100, 20 // at most 20 pending per vault
	type result struct {
		id                int64
		approve, reject   error
		key, service, val string
	}
	var results []result
	for start := 0; start < total; start += batch {
		var rs []*result
		for i := start; i < start+batch; i++ {
			key, name := "RACE_KEY_"+strconv.Itoa(i), "race-"+strconv.Itoa(i)
			out := f.proposeCrowd(t, i-start, ppOne(name, key))
			rs = append(rs, &result{id: out.ID, key: key, service: name, val: f.secret("race" + strconv.Itoa(i))})
		}
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-gate
				_, r.approve = f.own.ApproveProposal(cbg, r.id, map[string]string{r.key: r.val})
			}()
			go func() {
				defer wg.Done()
				<-gate
				_, r.reject = f.own.RejectProposal(cbg, r.id, "race")
			}()
		}
		close(gate)
		wg.Wait()
		for _, r := range rs {
			results = append(results, *r)
		}
	}

	vals := ppValues(t, f.own, "default")
	names := map[string]bool{}
	for _, n := range ppServiceNames(t, f.own, "default") {
		names[n] = true
	}
	approved := 0
	for _, r := range results {
		a, j := status(r.approve), status(r.reject)
		if !(a == 200 && j == 409) && !(a == 409 && j == 200) {
			t.Errorf("proposal %d: approve %d (%v), reject %d (%v); want exactly one 200 and one 409", r.id, a, r.approve, j, r.reject)
			continue
		}
		p, err := f.own.AdminProposal(cbg, r.id)
		mustOK(t, "get", err)
		if a == 200 {
			approved++
			if p.Status != "applied" || vals[r.key] != r.val || !names[r.service] {
				t.Errorf("proposal %d approved, but status %s, credential set %v, service present %v", r.id, p.Status, vals[r.key] == r.val, names[r.service])
			}
		} else {
			if p.Status != "rejected" || p.RejectionReason != "race" {
				t.Errorf("proposal %d rejected, but %+v", r.id, p)
			}
			if _, ok := vals[r.key]; ok || names[r.service] {
				t.Errorf("proposal %d rejected, but its credential or service exists", r.id)
			}
		}
	}
	if len(vals) != approved || len(names) != approved {
		t.Errorf("vault holds %d credentials and %d services; %d proposals were approved", len(vals), len(names), approved)
	}
	t.Logf("%d of %d races were won by approve", approved, total)
	// Decided proposals leave no sealed value behind.
	var n int
	if err := f.e.db.SQL().QueryRow(`SELECT COUNT(*) FROM proposal_values`).Scan(&n); err != nil || n != 0 {
		t.Errorf("proposal_values rows after the race = %d (%v), want 0", n, err)
	}
}

// TestProposalsApprovalToken: the av_appr_ token of approval_url gives a
// read-only view of its own proposal for 24 hours, and nothing else.
func TestProposalsApprovalToken(t *testing.T) {
	f := newPP(t)
	agentVal := f.secret("appr-agent")
	in := apitype.CreateProposalRequest{
		Services:    []apitype.ProposalService{ppBearer("viewed", "viewed.test", "VIEW_KEY")},
		Credentials: []apitype.ProposalCredential{ppValued("VIEW_KEY", agentVal)},
		UserMessage: "please",
	}
	out := f.propose(t, in)
	if !strings.HasPrefix(out.ApprovalURL, "http://vault.test/approve/"+strconv.FormatInt(out.ID, 10)+"?token=av_appr_") ||
		!strings.Contains(out.Message, out.ApprovalURL) {
		t.Errorf("created = %+v", out)
	}
	tok := ppApprovalToken(t, out)
	other := f.propose(t, ppOne("other", "OTHER_KEY"))
	otherTok := ppApprovalToken(t, other)

	// The right token shows the proposal, without the agent's value.
	p, err := f.e.anon().ApprovalDetails(cbg, tok, out.ID)
	mustOK(t, "approve-details", err)
	if p.ID != out.ID || p.Status != "pending" || p.UserMessage != "please" || p.CreatedBy != "agent:bot" || len(p.Credentials) != 1 || !p.Credentials[0].HasValue || p.Credentials[0].Value != nil {
		t.Errorf("approve-details = %+v", p)
	}
	r := f.raw(t, http.MethodGet, "/v1/proposals/approve-details?token="+tok+"&id="+strconv.FormatInt(out.ID, 10), "", nil)
	if r.code != 200 || strings.Contains(string(r.body), agentVal) || strings.Contains(string(r.body), tok) {
		t.Errorf("approve-details raw = %d, shows the value or the token: %v", r.code, strings.Contains(string(r.body), agentVal))
	}
	if _, err := f.e.anon().ApprovalDetails(cbg, tok, 0); err != nil {
		t.Errorf("approve-details without id: %v", err)
	}

	// Wrong tokens, or a token with another proposal's id: 404.
	for name, q := range map[string]string{
		"random token":        "token=av_appr_" + strings.Repeat("ab", 32) + "&id=" + strconv.FormatInt(out.ID, 10),
		"other proposal's id": "token=" + otherTok + "&id=" + strconv.FormatInt(out.ID, 10),
		"a session token":     "token=" + f.ownTok + "&id=" + strconv.FormatInt(out.ID, 10),
		"no token":            "id=" + strconv.FormatInt(out.ID, 10),
		"token with a tail":   "token=" + tok + "x&id=" + strconv.FormatInt(out.ID, 10),
		"truncated token":     "token=" + tok[:len(tok)-2] + "&id=" + strconv.FormatInt(out.ID, 10),
		"id of no proposal":   "token=" + tok + "&id=999",
	} {
		if r := f.raw(t, http.MethodGet, "/v1/proposals/approve-details?"+q, "", nil); r.code != http.StatusNotFound {
			t.Errorf("approve-details with %s = %d %s, want 404", name, r.code, r.body)
		}
	}

	// The token grants nothing else: as a bearer it is refused everywhere.
	idS := strconv.FormatInt(out.ID, 10)
	for _, rq := range []struct{ method, path string }{
		{"GET", "/v1/proposals/" + idS},
		{"GET", "/v1/proposals?vault=default"},
		{"POST", "/v1/proposals?vault=default"},
		{"GET", "/v1/admin/proposals"},
		{"GET", "/v1/admin/proposals/" + idS},
		{"POST", "/v1/admin/proposals/" + idS + "/approve"},
		{"POST", "/v1/admin/proposals/" + idS + "/reject"},
		{"GET", "/v1/auth/me"},
		{"GET", "/v1/vaults"},
		{"GET", "/discover"},
		{"GET", "/v1/credentials?vault=default"},
		{"GET", "/v1/vaults/default/services"},
		{"POST", "/v1/sessions"},
	} {
		var body any
		if rq.method == "POST" {
			body = map[string]any{"reason": "x", "vault": "default", "credentials": map[string]string{"VIEW_KEY": "x"}}
		}
		if r := f.raw(t, rq.method, rq.path, tok, body); r.code != http.StatusUnauthorized {
			t.Errorf("%s %s with the approval token as bearer = %d, want 401", rq.method, rq.path, r.code)
		}
	}
	if st := f.ppStatus(t, out.ID); st != "pending" {
		t.Fatalf("status = %s, want pending", st)
	}

	// After 24 hours the link is gone (410) though the proposal is pending.
	f.e.clock.Advance(24*time.Hour + time.Second)
	_, err = f.e.anon().ApprovalDetails(cbg, tok, out.ID)
	if status(err) != http.StatusGone || ppCode(err) != "approval_expired" {
		t.Errorf("approve-details after 24h = %d %q, want 410 approval_expired", status(err), ppCode(err))
	}
	if st := f.ppStatus(t, out.ID); st != "pending" {
		t.Errorf("status after 24h = %s, want pending", st)
	}
	// A wrong token is still 404, not 410.
	_, err = f.e.anon().ApprovalDetails(cbg, "av_appr_"+strings.Repeat("cd", 32), out.ID)
	wantAPIErr(t, "wrong token after 24h", err, http.StatusNotFound, "")
	// The proposal can still be approved by a user, with the agent's value.
	_, err = f.own.ApproveProposal(cbg, out.ID, nil)
	mustOK(t, "approve after the link expired", err)
	if got := ppValues(t, f.own, "default")["VIEW_KEY"]; got != agentVal {
		t.Errorf("VIEW_KEY = %q, want the agent's value", got)
	}
}

// TestProposalsAgentValues: values an agent supplies are stored sealed
// (absent from the raw database), never returned, applied at approval
// unless the human overrides them, and dropped once decided.
func TestProposalsAgentValues(t *testing.T) {
	f := newPP(t)
	keepVal, overVal, humanVal := f.secret("agent-keep"), f.secret("agent-over"), f.secret("human")
	out := f.propose(t, apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "stored", Host: "stored.test", Auth: &apitype.ServiceAuth{
			Type: "custom", Headers: map[string]string{"X-A": "{{ KEEP_KEY }}", "X-B": "{{ OVER_KEY }}"}}}},
		Credentials: []apitype.ProposalCredential{ppValued("KEEP_KEY", keepVal), ppValued("OVER_KEY", overVal)},
	})
	idS := strconv.FormatInt(out.ID, 10)
	plain := []string{keepVal, overVal}

	// Never in any proposal JSON, whoever reads it.
	for _, rq := range []struct{ path, tok string }{
		{"/v1/proposals/" + idS, f.botTok},
		{"/v1/proposals?vault=default", f.botTok},
		{"/v1/proposals?vault=default&status=pending", f.botTok},
		{"/v1/admin/proposals/" + idS, f.ownTok},
		{"/v1/admin/proposals", f.ownTok},
		{"/v1/admin/proposals?vault=default", f.ownTok},
		{"/v1/proposals/approve-details?token=" + ppApprovalToken(t, out), ""},
	} {
		r := f.raw(t, http.MethodGet, rq.path, rq.tok, nil)
		if r.code != 200 {
			t.Errorf("GET %s = %d %s", rq.path, r.code, r.body)
		}
		for _, v := range plain {
			if strings.Contains(string(r.body), v) {
				t.Errorf("GET %s returns an agent-supplied value", rq.path)
			}
		}
		if !strings.Contains(string(r.body), `"has_value":true`) {
			t.Errorf("GET %s does not say has_value: %s", rq.path, r.body)
		}
	}

	// Sealed at rest: not in any column of proposals or proposal_values.
	db := f.e.db.SQL()
	ppScanTable(t, db, "proposals", plain)
	if n := ppScanTable(t, db, "proposal_values", plain); n != 2 {
		t.Errorf("proposal_values holds %d rows, want 2 (one per supplied value)", n)
	}

	// The human overrides one value and accepts the other.
	dec, err := f.own.ApproveProposal(cbg, out.ID, map[string]string{"OVER_KEY": humanVal})
	mustOK(t, "approve", err)
	for _, v := range append(plain, humanVal) {
		if strings.Contains(fmt.Sprint(dec), v) {
			t.Errorf("the approve answer shows a value")
		}
	}
	vals := ppValues(t, f.own, "default")
	if vals["KEEP_KEY"] != keepVal || vals["OVER_KEY"] != humanVal {
		t.Errorf("after approval KEEP_KEY ok=%v OVER_KEY ok=%v", vals["KEEP_KEY"] == keepVal, vals["OVER_KEY"] == humanVal)
	}
	// Decided: the sealed values are gone.
	if n := ppScanTable(t, db, "proposal_values", plain); n != 0 {
		t.Errorf("proposal_values holds %d rows after approval, want 0", n)
	}
	// A rejected proposal's value is dropped too, and never applied.
	rej := f.propose(t, apitype.CreateProposalRequest{Credentials: []apitype.ProposalCredential{ppValued("DROP_KEY", f.secret("dropped"))}})
	_, err = f.own.RejectProposal(cbg, rej.ID, "no thanks")
	mustOK(t, "reject", err)
	if n := ppScanTable(t, db, "proposal_values", nil); n != 0 {
		t.Errorf("proposal_values holds %d rows after rejection, want 0", n)
	}
	if _, ok := ppValues(t, f.own, "default")["DROP_KEY"]; ok {
		t.Errorf("a rejected proposal's value was stored")
	}
}

// ppScanTable reads every column of every row of table as text and fails
// if any contains one of plain; it returns the number of rows.
func ppScanTable(t *testing.T, db *sql.DB, table string, plain []string) int {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			var s string
			switch x := v.(type) {
			case []byte:
				s = string(x)
			case string:
				s = x
			default:
				s = fmt.Sprint(x)
			}
			for _, p := range plain {
				if strings.Contains(s, p) {
					t.Errorf("column %s.%s holds a plaintext value", table, cols[i])
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProposalsApplyAllOrNothing: an approval that would leave a service
// without its credential is a 409 that changes nothing at all.
func TestProposalsApplyAllOrNothing(t *testing.T) {
	f := newPP(t)
	oldVal := f.secret("old")
	_, err := f.own.SetCredentials(cbg, "default", map[string]string{"OLD_KEY": oldVal})
	mustOK(t, "set OLD_KEY", err)
	_, err = f.own.UpsertServices(cbg, "default", []apitype.Service{{Name: "legacy", Host: "legacy.test", Auth: apitype.ServiceAuth{Type: "bearer", Token: "OLD_KEY"}}})
	mustOK(t, "add legacy", err)

	out := f.propose(t, apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{ppBearer("fresh", "fresh.test", "NEW_KEY")},
		Credentials: []apitype.ProposalCredential{
			ppSlot("NEW_KEY"),
			{Action: "delete", Key: "OLD_KEY"}, // still used by legacy, which stays
		},
	})
	_, err = f.own.ApproveProposal(cbg, out.ID, map[string]string{"NEW_KEY": f.secret("new")})
	body := wantAPIErr(t, "approve leaving legacy without OLD_KEY", err, http.StatusConflict, "")
	if !strings.Contains(body.Error, "legacy") || !strings.Contains(body.Error, "OLD_KEY") {
		t.Errorf("409 message %q should name the service and the credential", body.Error)
	}
	vals := ppValues(t, f.own, "default")
	if len(vals) != 1 || vals["OLD_KEY"] != oldVal {
		t.Errorf("credentials after the refused approval: keys %v, want only OLD_KEY unchanged", credKeysOf(vals))
	}
	if names := ppServiceNames(t, f.own, "default"); strings.Join(names, ",") != "legacy" {
		t.Errorf("services after the refused approval = %v, want [legacy]", names)
	}
	if st := f.ppStatus(t, out.ID); st != "pending" {
		t.Errorf("status after the refused approval = %s, want pending", st)
	}

	// Removing legacy in the same proposal makes the same change valid.
	out2 := f.propose(t, apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{ppBearer("fresh", "fresh.test", "NEW_KEY"), {Action: "delete", Name: "legacy"}},
		Credentials: []apitype.ProposalCredential{
			ppSlot("NEW_KEY"), {Action: "delete", Key: "OLD_KEY"},
		},
	})
	newVal := f.secret("new2")
	dec, err := f.own.ApproveProposal(cbg, out2.ID, map[string]string{"NEW_KEY": newVal})
	mustOK(t, "approve the consistent proposal", err)
	if len(dec.Applied) != 4 {
		t.Errorf("applied = %v, want 4 changes", dec.Applied)
	}
	vals = ppValues(t, f.own, "default")
	if len(vals) != 1 || vals["NEW_KEY"] != newVal {
		t.Errorf("credentials = %v, want only NEW_KEY", credKeysOf(vals))
	}
	if names := ppServiceNames(t, f.own, "default"); strings.Join(names, ",") != "fresh" {
		t.Errorf("services = %v, want [fresh]", names)
	}
	// The first proposal now deletes a credential that no longer exists
	// and asks for a service already there: approving it still works
	// (deleting a missing key is a no-op) — or it is refused as a whole.
	_, err = f.own.RejectProposal(cbg, out.ID, "superseded")
	mustOK(t, "reject the stale one", err)
}

func credKeysOf(m map[string]string) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestProposalsOAuthSlot: an approved OAuth slot leaves a credential of
// type oauth that is not connected yet (no value).
func TestProposalsOAuthSlot(t *testing.T) {
	f := newPP(t)
	out := f.propose(t, apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{ppBearer("github", "api.github.test", "GH_TOKEN")},
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "GH_TOKEN", Type: "oauth", Description: "GitHub",
			OAuth: &apitype.OAuthConfig{TokenURL: "https://github.test/login/oauth/access_token", AuthorizationURL: "https://github.test/login/oauth/authorize", Scopes: []string{"repo"}, ClientID: "abc"}}},
	})
	p, err := f.own.AdminProposal(cbg, out.ID)
	mustOK(t, "admin get", err)
	if c := p.Credentials[0]; c.Type != "oauth" || c.OAuth == nil || c.OAuth.TokenURL != "https://github.test/login/oauth/access_token" || len(c.OAuth.Scopes) != 1 {
		t.Errorf("stored oauth slot = %+v", c)
	}
	_, err = f.own.ApproveProposal(cbg, out.ID, nil)
	mustOK(t, "approve", err)
	l, err := f.own.Credentials(cbg, "default", false, "")
	mustOK(t, "list credentials", err)
	if len(l.Credentials) != 1 || l.Credentials[0].Key != "GH_TOKEN" || l.Credentials[0].Type != "oauth" {
		t.Errorf("credentials = %+v, want GH_TOKEN of type oauth", l.Credentials)
	}
	// It waits to be connected, holding the provider the slot named.
	if o := l.Credentials[0].OAuth; o == nil || o.Status != "pending" {
		t.Errorf("oauth state = %+v, want pending", l.Credentials[0].OAuth)
	}
	st, err := f.own.OAuthStatus(cbg, "default", "GH_TOKEN")
	mustOK(t, "oauth status", err)
	if st.Connected || st.TokenURL != "https://github.test/login/oauth/access_token" || st.ClientID != "abc" || len(st.Scopes) != 1 || st.HasClientSecret {
		t.Errorf("oauth status = %+v", st)
	}
	if names := ppServiceNames(t, f.own, "default"); strings.Join(names, ",") != "github" {
		t.Errorf("services = %v, want [github]", names)
	}
}

// TestProposalsAgentSide: an agent lists and polls its vault's proposals
// (status filter, rejection reason), chosen as for /discover.
func TestProposalsAgentSide(t *testing.T) {
	f := newPP(t)
	a := f.propose(t, ppOne("one", "ONE_KEY"))
	b := f.propose(t, ppOne("two", "TWO_KEY"))
	_, err := f.own.RejectProposal(cbg, b.ID, "use the sandbox key")
	mustOK(t, "reject", err)

	// One grant: no vault needed. X-Vault works as well as ?vault=.
	l, err := f.bot.Proposals(cbg, "", "")
	mustOK(t, "list without vault", err)
	if len(l.Proposals) != 2 || l.Proposals[0].ID != b.ID {
		t.Errorf("list = %+v, want both, newest first", l)
	}
	r := f.raw(t, http.MethodGet, "/v1/proposals?status=rejected", f.botTok, nil, "X-Vault", "default")
	var rl apitype.ProposalList
	r.into(t, &rl)
	if len(rl.Proposals) != 1 || rl.Proposals[0].RejectionReason != "use the sandbox key" || rl.Proposals[0].Status != "rejected" {
		t.Errorf("rejected list = %+v", rl)
	}
	if p, err := f.bot.Proposal(cbg, a.ID); err != nil || p.Status != "pending" || p.CreatedBy != "agent:bot" || p.CreatedByType != "agent" {
		t.Errorf("poll = %+v, %v", p, err)
	}
	// A vault the agent has no grant in.
	mkVault(t, f.own, "private")
	_, err = f.bot.CreateProposal(cbg, "private", ppOne("ppp", "P_KEY"))
	if s := status(err); s != http.StatusForbidden && s != http.StatusNotFound {
		t.Errorf("proposal in an ungranted vault = %d, want 403 or 404", s)
	}
	// With two grants the vault must be named.
	_, err = f.own.AddVaultAgent(cbg, "private", "bot", "proxy")
	mustOK(t, "grant private", err)
	_, err = f.bot.CreateProposal(cbg, "", ppOne("ppp", "P_KEY"))
	if b := wantAPIErr(t, "two grants, no vault", err, http.StatusBadRequest, "X-Vault"); b.Code != "vault_required" {
		t.Errorf("code = %q, want vault_required", b.Code)
	}
	// The body's vault field is honoured too.
	in := ppOne("ppp", "P_KEY")
	in.Vault = "private"
	out, err := f.bot.CreateProposal(cbg, "", in)
	mustOK(t, "vault in body", err)
	f.keep(ppApprovalToken(t, out))
	if out.Vault != "private" {
		t.Errorf("created in %q, want private", out.Vault)
	}
	// A scoped session raises proposals in its vault, and no other.
	stok := f.session(t, f.own, "default", "proxy")
	sc := f.e.as(stok)
	so, err := sc.CreateProposal(cbg, "", ppOne("from-session", "S_KEY"))
	mustOK(t, "scoped session proposal", err)
	f.keep(ppApprovalToken(t, so))
	if so.Vault != "default" {
		t.Errorf("scoped session proposal in %q", so.Vault)
	}
	_, err = sc.CreateProposal(cbg, "private", ppOne("xxx", "X_KEY"))
	wantAPIErr(t, "scoped session, other vault", err, http.StatusForbidden, "")
}
