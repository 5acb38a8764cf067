package e2e

// `vault proposal …` through the real binary: agents raise proposals over
// raw HTTP, a human reviews them with the CLI. Every identifier here starts
// with "pc" so that the file cannot collide with other e2e files.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

type pcCredential struct {
	Action      string  `json:"action"`
	Key         string  `json:"key"`
	Type        string  `json:"type"`
	Description string  `json:"description"`
	HasValue    bool    `json:"has_value"`
	Value       *string `json:"value"`
}

type pcService struct {
	Action string `json:"action"`
	Name   string `json:"name"`
	Host   string `json:"host"`
	Auth   *struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	} `json:"auth"`
}

type pcProposal struct {
	ID              int64          `json:"id"`
	Status          string         `json:"status"`
	Vault           string         `json:"vault"`
	Services        []pcService    `json:"services"`
	Credentials     []pcCredential `json:"credentials"`
	Message         string         `json:"message"`
	UserMessage     string         `json:"user_message"`
	CreatedBy       string         `json:"created_by"`
	CreatedByType   string         `json:"created_by_type"`
	DecidedBy       string         `json:"decided_by"`
	RejectionReason string         `json:"rejection_reason"`
}

type pcList struct {
	Proposals []pcProposal `json:"proposals"`
}

func (l pcList) find(id int64) (pcProposal, bool) {
	for _, p := range l.Proposals {
		if p.ID == id {
			return p, true
		}
	}
	return pcProposal{}, false
}

type pcCreated struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Vault       string `json:"vault"`
	ApprovalURL string `json:"approval_url"`
	Message     string `json:"message"`
}

type pcDecided struct {
	ID      int64    `json:"id"`
	Status  string   `json:"status"`
	Vault   string   `json:"vault"`
	Applied []string `json:"applied"`
	Message string   `json:"message"`
}

type pcReview struct {
	Approved  []int64 `json:"approved"`
	Rejected  []int64 `json:"rejected"`
	Skipped   []int64 `json:"skipped"`
	Remaining []int64 `json:"remaining"`
	Failed    []struct {
		ID    int64  `json:"id"`
		Error string `json:"error"`
	} `json:"failed"`
}

// pcBearer is the JSON of one proposal: a bearer service on host using key,
// and a slot for key (with the agent's value when value is not empty).
func pcBearer(name, host, key, value string) map[string]any {
	slot := map[string]any{"action": "set", "key": key, "description": "key for " + name,
		"obtain": "https://" + host + "/keys"}
	if value != "" {
		slot["value"] = value
	}
	return map[string]any{
		"services":     []any{map[string]any{"action": "set", "name": name, "host": host, "auth": map[string]any{"type": "bearer", "token": key}}},
		"credentials":  []any{slot},
		"message":      "for the developer: " + name,
		"user_message": "please allow " + name,
	}
}

// pcPropose raises a proposal as the agent with tok over raw HTTP.
func pcPropose(t *testing.T, base, tok string, body any) pcCreated {
	t.Helper()
	r := call(t, http.MethodPost, base+"/v1/proposals", tok, body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /v1/proposals = %s, want 201", r)
	}
	var c pcCreated
	ctDecode(t, "POST /v1/proposals", apiResp{status: 200, header: r.header, body: r.body}, &c)
	if c.ID <= 0 || c.Status != "pending" || !strings.Contains(c.ApprovalURL, "/approve/"+strconv.FormatInt(c.ID, 10)+"?token=av_appr_") {
		t.Fatalf("POST /v1/proposals answered %+v", c)
	}
	return c
}

// pcPoll reads a proposal as the agent sees it.
func pcPoll(t *testing.T, base, tok string, id int64) pcProposal {
	t.Helper()
	var p pcProposal
	ctDecode(t, "agent GET proposal", call(t, http.MethodGet, base+"/v1/proposals/"+strconv.FormatInt(id, 10), tok, nil), &p)
	return p
}

func pcID(id int64) string { return strconv.FormatInt(id, 10) }

// pcNoSecrets fails if the server's output or any given CLI output holds
// one of the values.
func pcNoSecrets(t *testing.T, s *server, outputs []string, values ...string) {
	t.Helper()
	checkNoSecrets(t, s, values, nil, outputs)
	if strings.Contains(s.stdout.String()+s.stderr.String(), "av_appr_") {
		t.Errorf("the server's log holds an approval token")
	}
}

// TestProposalsCLIApproveAndReject: an agent raises proposals over HTTP; the
// owner lists, shows, approves (values as arguments, from standard input,
// or the agent's own) and rejects them with the CLI; the agent's poll sees
// each outcome.
func TestProposalsCLIApproveAndReject(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	stripeVal, agentVal, stdinVal := "sk_test_pc_stripe_41c9e2", "xoxb-pc-agent-value-77d1", "pc-typed-on-stdin-0b5e"

	stripe := pcPropose(t, s.url, tok, pcBearer("stripe", "api.stripe.test", "STRIPE_KEY", ""))
	slack := pcPropose(t, s.url, tok, pcBearer("slack", "slack.test", "SLACK_TOKEN", agentVal))
	typed := pcPropose(t, s.url, tok, pcBearer("typed", "typed.test", "TYPED_KEY", ""))
	doomed := pcPropose(t, s.url, tok, pcBearer("doomed", "doomed.test", "DOOMED_KEY", ""))

	// list --json: every proposal of the vaults the owner reviews.
	var l pcList
	owner.json(&l, "vault", "proposal", "list")
	if len(l.Proposals) != 4 {
		t.Fatalf("list --json = %+v, want 4 proposals", l)
	}
	p, ok := l.find(slack.ID)
	if !ok || p.Status != "pending" || p.Vault != "default" || p.CreatedBy != "agent:bot" || len(p.Credentials) != 1 || !p.Credentials[0].HasValue || p.Credentials[0].Value != nil {
		t.Errorf("slack proposal in list --json = %+v", p)
	}
	var lp pcList
	owner.json(&lp, "vault", "proposal", "list", "--status", "applied")
	if len(lp.Proposals) != 0 {
		t.Errorf("list --status applied = %+v, want none", lp)
	}
	var lv pcList
	owner.json(&lv, "vault", "proposal", "list", "--vault", "default", "--status", "pending")
	if len(lv.Proposals) != 4 {
		t.Errorf("list --vault default --status pending = %d proposals, want 4", len(lv.Proposals))
	}
	out := owner.ok("", "vault", "proposal", "list")
	mustContain(t, "proposal list", out, "ID", "STATUS", "pending", "agent:bot", "set service stripe (api.stripe.test)", "set STRIPE_KEY")
	mustContain(t, "list --status applied", owner.ok("", "vault", "proposal", "list", "--status", "applied"), "No applied proposals")
	mustContain(t, "list --status bogus", owner.fail("", "vault", "proposal", "list", "--status", "bogus"), "status must be")

	// show: human and --json; the agent's value is never shown.
	out = owner.ok("", "vault", "proposal", "show", pcID(slack.ID))
	mustContain(t, "proposal show", out, "Proposal "+pcID(slack.ID), "pending", "agent:bot", "please allow slack",
		"for the developer: slack", "slack (slack.test)", "bearer: token SLACK_TOKEN", "key for slack", "https://slack.test/keys", "agent supplied a value")
	var sp pcProposal
	owner.json(&sp, "vault", "proposal", "show", pcID(stripe.ID))
	if sp.ID != stripe.ID || sp.UserMessage != "please allow stripe" || len(sp.Services) != 1 || sp.Services[0].Auth == nil || sp.Services[0].Auth.Token != "STRIPE_KEY" {
		t.Errorf("show --json = %+v", sp)
	}
	mustContain(t, "show of no proposal", owner.fail("", "vault", "proposal", "show", "999"), "not found", "vault proposal list")
	mustContain(t, "show with a bad id", owner.fail("", "vault", "proposal", "show", "abc"), "not a proposal id")

	// approve without --yes off a terminal: nothing happens, and it says why.
	mustContain(t, "approve without --yes", owner.fail(stripeVal+"\n", "vault", "proposal", "approve", pcID(stripe.ID)), "--yes")
	// approve with a value for no slot.
	mustContain(t, "approve with a stray key", owner.fail("", "vault", "proposal", "approve", pcID(stripe.ID), "NOPE_KEY=x", "--yes"), "no credential slot NOPE_KEY", "STRIPE_KEY")
	if got := pcPoll(t, s.url, tok, stripe.ID).Status; got != "pending" {
		t.Fatalf("after refused approvals: %s, want pending", got)
	}

	// approve ID KEY=VALUE --yes.
	var outs []string
	out = owner.ok("", "vault", "proposal", "approve", pcID(stripe.ID), "STRIPE_KEY="+stripeVal, "--yes")
	outs = append(outs, out)
	mustContain(t, "approve", out, "Proposal "+pcID(stripe.ID)+" approved", "set credential STRIPE_KEY", "set service stripe")
	if got := strings.TrimSpace(owner.ok("", "vault", "credential", "get", "STRIPE_KEY")); got != stripeVal {
		t.Errorf("STRIPE_KEY = %q after approval", got)
	}
	if sv, ok := ctServices(t, owner, "default").find("stripe"); !ok || sv.Host != "api.stripe.test" || sv.Auth.Token != "STRIPE_KEY" {
		t.Errorf("service stripe after approval = %+v, %v", sv, ok)
	}
	// The agent (proxy role) learns that a user decided, not who.
	if p := pcPoll(t, s.url, tok, stripe.ID); p.Status != "applied" || p.DecidedBy != "a user" {
		t.Errorf("agent poll after approval = %+v", p)
	}
	mustContain(t, "approve twice", owner.fail("", "vault", "proposal", "approve", pcID(stripe.ID), "--yes"), "applied", "not pending")

	// The agent's value is accepted off a terminal (--json answer).
	var dec pcDecided
	owner.json(&dec, "vault", "proposal", "approve", pcID(slack.ID), "--yes")
	if dec.ID != slack.ID || dec.Status != "applied" || dec.Vault != "default" || len(dec.Applied) != 2 {
		t.Errorf("approve --json = %+v", dec)
	}
	if got := strings.TrimSpace(owner.ok("", "vault", "credential", "get", "SLACK_TOKEN")); got != agentVal {
		t.Errorf("SLACK_TOKEN = %q, want the agent's value", got)
	}

	// A missing value is read from standard input; without one it fails
	// and says how to give it.
	mustContain(t, "approve without a value", owner.fail("", "vault", "proposal", "approve", pcID(typed.ID), "--yes"), "TYPED_KEY", "TYPED_KEY=VALUE")
	out = owner.ok(stdinVal+"\n", "vault", "proposal", "approve", pcID(typed.ID), "--yes")
	outs = append(outs, out)
	if got := strings.TrimSpace(owner.ok("", "vault", "credential", "get", "TYPED_KEY")); got != stdinVal {
		t.Errorf("TYPED_KEY = %q, want the value from standard input", got)
	}

	// reject --reason; the agent reads the reason.
	mustContain(t, "reject without a reason", owner.fail("", "vault", "proposal", "reject", pcID(doomed.ID)), "--reason")
	out = owner.ok("", "vault", "proposal", "reject", pcID(doomed.ID), "--reason", "use the sandbox key")
	mustContain(t, "reject", out, "Proposal "+pcID(doomed.ID)+" rejected")
	if p := pcPoll(t, s.url, tok, doomed.ID); p.Status != "rejected" || p.RejectionReason != "use the sandbox key" {
		t.Errorf("agent poll after rejection = %+v", p)
	}
	mustContain(t, "reject twice", owner.fail("", "vault", "proposal", "reject", pcID(doomed.ID), "--reason", "again"), "already rejected", "vault proposal show")
	mustContain(t, "approve a rejected one", owner.fail("", "vault", "proposal", "approve", pcID(doomed.ID), "--yes"), "rejected")
	if _, ok := ctServices(t, owner, "default").find("doomed"); ok {
		t.Errorf("the rejected proposal's service exists")
	}
	var rj pcDecided
	again := pcPropose(t, s.url, tok, pcBearer("again", "again.test", "AGAIN_KEY", ""))
	owner.json(&rj, "vault", "proposal", "reject", pcID(again.ID), "--reason", "no")
	if rj.ID != again.ID || rj.Status != "rejected" {
		t.Errorf("reject --json = %+v", rj)
	}
	out = owner.ok("", "vault", "proposal", "show", pcID(doomed.ID))
	mustContain(t, "show rejected", out, "rejected", "use the sandbox key", "owner@example.com")

	// A user who is not in the vault learns nothing and is told what to do.
	var inv struct {
		Token string `json:"token"`
	}
	owner.json(&inv, "user", "invite", "eve@example.com")
	eve := newCLI(t, "eve", s.url)
	if r := eve.run("eve-pass-1\n", "auth", "accept-invite", inv.Token); r.code != 0 {
		t.Fatalf("accept-invite:\n%s", r)
	}
	eve.ok("eve-pass-1\n", "auth", "login", "--email", "eve@example.com")
	mustContain(t, "outsider show", eve.fail("", "vault", "proposal", "show", pcID(stripe.ID)), "not found")
	var el pcList
	eve.json(&el, "vault", "proposal", "list")
	if len(el.Proposals) != 0 {
		t.Errorf("outsider list = %+v, want none", el)
	}
	mustContain(t, "outsider review", eve.ok("", "vault", "proposal", "review"), "No pending proposals")

	pcNoSecrets(t, s, outs, stripeVal, agentVal, stdinVal)
}

// TestProposalsCLIReview drives `vault proposal review` from standard
// input: approve one (its value on the next line), reject one (its reason
// on the next line), skip one, quit; then a summary.
func TestProposalsCLIReview(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)
	tok := ctAgentToken(t, owner, "bot", "--vault", "default:proxy")
	a := pcPropose(t, s.url, tok, pcBearer("svc-a", "a.test", "A_KEY", ""))
	b := pcPropose(t, s.url, tok, pcBearer("svc-b", "b.test", "B_KEY", ""))
	c := pcPropose(t, s.url, tok, pcBearer("svc-c", "c.test", "C_KEY", ""))
	d := pcPropose(t, s.url, tok, pcBearer("svc-d", "d.test", "D_KEY", ""))
	aVal := "pc-review-value-a-5e21"

	// An answer that is not one is asked again.
	r := owner.run("maybe\na\n"+aVal+"\nr\nnot needed any more\ns\nq\n", "vault", "proposal", "review")
	if r.code != 0 {
		t.Fatalf("review failed:\n%s", r)
	}
	mustContain(t, "review output", r.stdout, "(1 of 4) Proposal "+pcID(a.ID), "please allow svc-a",
		"Proposal "+pcID(a.ID)+" approved", "Proposal "+pcID(b.ID)+" rejected", "Skipped proposal "+pcID(c.ID),
		"1 approved (#"+pcID(a.ID)+")", "1 rejected (#"+pcID(b.ID)+")", "1 skipped (#"+pcID(c.ID)+")", "1 not reviewed (#"+pcID(d.ID)+")",
		"vault proposal review")
	mustContain(t, "review prompts", r.stderr, "[a/r/s/q]", `"maybe" is not an answer`)

	want := map[int64]string{a.ID: "applied", b.ID: "rejected", c.ID: "pending", d.ID: "pending"}
	for id, st := range want {
		if p := pcPoll(t, s.url, tok, id); p.Status != st {
			t.Errorf("proposal %d is %s after review, want %s", id, p.Status, st)
		}
	}
	if p := pcPoll(t, s.url, tok, b.ID); p.RejectionReason != "not needed any more" {
		t.Errorf("rejection reason = %q", p.RejectionReason)
	}
	if got := strings.TrimSpace(owner.ok("", "vault", "credential", "get", "A_KEY")); got != aVal {
		t.Errorf("A_KEY = %q after review", got)
	}
	names := ctServices(t, owner, "default").names()
	if strings.Join(names, ",") != "svc-a" {
		t.Errorf("services after review = %v, want [svc-a]", names)
	}

	// --json: the walk goes to standard error, the summary to standard
	// output as JSON. The end of input is a quit.
	var sum pcReview
	owner.json(&sum, "vault", "proposal", "review")
	if len(sum.Approved)+len(sum.Rejected)+len(sum.Skipped) != 0 || len(sum.Remaining) != 2 || sum.Remaining[0] != c.ID || sum.Remaining[1] != d.ID {
		t.Errorf("review --json with no answers = %+v, want c and d remaining", sum)
	}
	r = owner.run("s\nr\nduplicate\n", "vault", "proposal", "review", "--json")
	if r.code != 0 {
		t.Fatalf("review --json failed:\n%s", r)
	}
	decodeStrict(t, r.stdout, &sum)
	if len(sum.Skipped) != 1 || sum.Skipped[0] != c.ID || len(sum.Rejected) != 1 || sum.Rejected[0] != d.ID || len(sum.Remaining) != 0 {
		t.Errorf("review --json = %+v", sum)
	}
	mustContain(t, "review --json walk on stderr", r.stderr, "Proposal "+pcID(c.ID), "Proposal "+pcID(d.ID)+" rejected")

	// Approving needs the slot's value: without one the review stops, says
	// which value is missing, and changes nothing.
	e := pcPropose(t, s.url, tok, pcBearer("svc-e", "e.test", "E_KEY", ""))
	owner.ok("", "vault", "proposal", "reject", pcID(c.ID), "--reason", "done elsewhere")
	r = owner.run("a\n", "vault", "proposal", "review")
	if r.code == 0 || !strings.Contains(r.stderr, "E_KEY") {
		t.Errorf("review approving without a value should fail naming E_KEY:\n%s", r)
	}
	if p := pcPoll(t, s.url, tok, e.ID); p.Status != "pending" {
		t.Errorf("e after a failed review = %s, want pending", p.Status)
	}
	pcNoSecrets(t, s, []string{r.stdout}, aVal)
}

// TestProposalsCLICreate: `vault proposal create` from flags, from a JSON
// file and from standard input, with --json; errors say what to do.
func TestProposalsCLICreate(t *testing.T) {
	t.Parallel()
	s, owner := ctStart(t)

	// From flags.
	var c pcCreated
	owner.json(&c, "vault", "proposal", "create", "--name", "github", "--host", "api.github.test",
		"--auth", "bearer", "--token", "GH_TOKEN", "--credential", "GH_TOKEN=GitHub token with repo scope",
		"--message", "dev note", "--user-message", "for the reviewer")
	if c.ID <= 0 || c.Status != "pending" || c.Vault != "default" || !strings.Contains(c.ApprovalURL, "/approve/"+pcID(c.ID)+"?token=av_appr_") {
		t.Fatalf("create --json = %+v", c)
	}
	var p pcProposal
	owner.json(&p, "vault", "proposal", "show", pcID(c.ID))
	if p.CreatedBy != "owner@example.com" || p.CreatedByType != "user" || p.Message != "dev note" || p.UserMessage != "for the reviewer" ||
		len(p.Services) != 1 || p.Services[0].Name != "github" || len(p.Credentials) != 1 || p.Credentials[0].Description != "GitHub token with repo scope" {
		t.Errorf("created from flags = %+v", p)
	}

	// From a JSON file (human output names the approval link and command).
	file := ctWrite(t, "proposal.json", `{
  "services": [{"action": "set", "name": "stripe", "host": "api.stripe.test",
                "auth": {"type": "api-key", "key": "STRIPE_KEY", "header": "X-Api-Key"}}],
  "credentials": [{"action": "set", "key": "STRIPE_KEY", "description": "Stripe key",
                   "obtain": "https://dashboard.stripe.test/apikeys", "obtain_instructions": "Developers > API keys"}],
  "user_message": "from a file"
}`)
	out := owner.ok("", "vault", "proposal", "create", "-f", file)
	mustContain(t, "create -f", out, "Proposal ", "created in vault default", "/approve/", "token=av_appr_", "vault proposal approve")
	var l pcList
	owner.json(&l, "vault", "proposal", "list", "--status", "pending")
	if len(l.Proposals) != 2 || l.Proposals[0].UserMessage != "from a file" || l.Proposals[0].Credentials[0].Key != "STRIPE_KEY" {
		t.Fatalf("after create -f: %+v", l)
	}
	fileID := l.Proposals[0].ID
	mustContain(t, "show file proposal", owner.ok("", "vault", "proposal", "show", pcID(fileID)),
		"api-key: key STRIPE_KEY, header X-Api-Key", "https://dashboard.stripe.test/apikeys", "Developers > API keys")

	// From standard input, into another vault named in the body.
	owner.ok("", "vault", "create", "team")
	var c2 pcCreated
	r := owner.run(`{"vault":"team","credentials":[{"action":"set","key":"TEAM_KEY"}]}`, "vault", "proposal", "create", "-f", "-", "--json")
	if r.code != 0 {
		t.Fatalf("create -f -:\n%s", r)
	}
	decodeStrict(t, r.stdout, &c2)
	if c2.Vault != "team" {
		t.Errorf("create -f - with vault team = %+v", c2)
	}
	var tl pcList
	owner.json(&tl, "vault", "proposal", "list", "--vault", "team")
	if len(tl.Proposals) != 1 || tl.Proposals[0].ID != c2.ID {
		t.Errorf("list --vault team = %+v", tl)
	}

	// Mistakes are refused with the next step.
	mustContain(t, "create with nothing", owner.fail("", "vault", "proposal", "create"), "--name", "--credential", "-f")
	mustContain(t, "create without --auth", owner.fail("", "vault", "proposal", "create", "--name", "x-svc", "--host", "x.test"), "--auth")
	mustContain(t, "create without a slot", owner.fail("", "vault", "proposal", "create", "--name", "x-svc", "--host", "x.test", "--auth", "bearer", "--token", "X_KEY"),
		"X_KEY", "--credential")
	mustContain(t, "create with both", owner.fail("", "vault", "proposal", "create", "-f", file, "--name", "x-svc"), "not both")
	bad := ctWrite(t, "bad.json", `{"services":[],"credentials":[{"action":"set","key":"K","valu":"typo"}]}`)
	mustContain(t, "create with an unknown field", owner.fail("", "vault", "proposal", "create", "-f", bad), "valu", "--help")
	mustContain(t, "create with an empty file", owner.fail("", "vault", "proposal", "create", "-f", ctWrite(t, "empty.json", " \n")), "empty")
	long := strings.Repeat("m", 2001)
	mustContain(t, "create with a long message", owner.fail("", "vault", "proposal", "create", "--credential", "K_KEY", "--message", long), "message", "2000")

	// The owner approves the flag-created one; GH_TOKEN is typed on stdin.
	owner.ok("ghp_pc_typed_value_9a1f\n", "vault", "proposal", "approve", pcID(c.ID), "--yes")
	if sv, ok := ctServices(t, owner, "default").find("github"); !ok || sv.Auth.Token != "GH_TOKEN" {
		t.Errorf("github after approval = %+v, %v", sv, ok)
	}
	pcNoSecrets(t, s, nil, "ghp_pc_typed_value_9a1f")
}

// TestProposalsCLIProxyLoop: the whole loop through the broker proxy: an
// agent cannot reach the host, raises a proposal, the owner approves it with the CLI,
// and the agent's next request reaches the upstream with the credential
// injected. An approved OAuth slot answers 502 oauth_not_connected.
func TestProposalsCLIProxyLoop(t *testing.T) {
	t.Parallel()
	ca := pxNewCA(t)
	const key = "sk_live_pc_loop_3c8d1e"
	up := pxStartUpstream(t, ca, pxAuthHandler("Bearer "+key))
	b := pxStart(t, pxOpts{ca: ca})
	b.mu.Lock()
	b.secrets = append(b.secrets, key)
	b.mu.Unlock()
	tok := b.agent("bot")
	cl := b.client(tok, "default", false)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := cl.Get(up.url() + path)
		if err != nil {
			t.Fatalf("GET %s through the proxy: %v", path, err)
		}
		return resp, b.read(resp)
	}

	// No service matches yet: the host is tunnelled blind, so this agent
	// (which trusts only the broker's CA) cannot even reach it.
	if _, err := cl.Get(up.url() + "/before"); err == nil {
		t.Fatalf("before the proposal the request went through")
	}
	prop := pcPropose(t, b.srv.url, tok, pcBearer("loop", up.hostport(), "LOOP_KEY", ""))
	r := b.owner.run(key+"\n", "vault", "proposal", "approve", pcID(prop.ID), "--yes")
	b.recordClient(r.stdout + r.stderr)
	if r.code != 0 {
		t.Fatalf("approve:\n%s", r)
	}
	if p := pcPoll(t, b.srv.url, tok, prop.ID); p.Status != "applied" {
		t.Fatalf("agent poll = %+v, want applied", p)
	}
	resp, body := get("/after")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "authorized GET /after") {
		t.Fatalf("after approval: %d %q", resp.StatusCode, body)
	}
	pxCheckInjected(t, up.last(t), "Bearer "+key)

	// An OAuth slot: approved, the credential exists but is not connected.
	n := up.count()
	oauth := pcPropose(t, b.srv.url, tok, map[string]any{
		"services": []any{map[string]any{"action": "set", "name": "loop", "host": up.hostport(), "auth": map[string]any{"type": "bearer", "token": "LOOP_OAUTH"}}},
		"credentials": []any{map[string]any{"action": "set", "key": "LOOP_OAUTH", "type": "oauth",
			"oauth": map[string]any{"token_url": "https://oauth.test/token", "scopes": []string{"read"}}}},
	})
	mustContain(t, "show oauth", b.owner.ok("", "vault", "proposal", "show", pcID(oauth.ID)), "LOOP_OAUTH (oauth)", "https://oauth.test/token")
	b.owner.ok("", "vault", "proposal", "approve", pcID(oauth.ID), "--yes")
	var creds ctCredentialList
	b.owner.json(&creds, "vault", "credential", "list")
	for _, c := range creds.Credentials {
		if c.Key == "LOOP_OAUTH" && c.Type != "oauth" {
			t.Errorf("LOOP_OAUTH has type %q, want oauth", c.Type)
		}
	}
	resp, body = get("/oauth")
	pxBrokerErr(t, resp.StatusCode, resp.Header, body, http.StatusBadGateway, "oauth_not_connected")
	if up.count() != n {
		t.Errorf("the upstream was reached without a connected OAuth credential")
	}
}
