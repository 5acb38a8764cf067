package broker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/store/sqlstore"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Secrets the test hands the broker; none may reach a trail row.
const (
	secretValue    = "sk-live-VERY-SECRET-0123456789"
	secretProposed = "proposed-SECRET-abcdef"
	secretApproved = "approved-SECRET-zyxwvu"
	wrongPassword  = "wrong-password-guess-XYZ"
)

type trailFixture struct {
	b     *Broker
	db    *sqlstore.DB
	owner Actor
	box   *inbox
}

func newTrailFixture(t *testing.T) trailFixture {
	t.Helper()
	ctx := context.Background()
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	db := sqltest.Open(t)
	box := &inbox{}
	b := New(Options{Store: db, Keyring: kr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}, BaseURL: "http://vault.test", Mailer: box})
	// Mail goes out in the background and reads the database: wait for it
	// before the database closes (cleanups run last in, first out), or it
	// may still be writing when the test's directory is removed.
	t.Cleanup(func() { b.WaitForMail(context.Background()) })
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := b.Authenticate(ctx, reg.Token)
	if err != nil {
		t.Fatal(err)
	}
	return trailFixture{b: b, db: db, owner: owner, box: box}
}

// rows reads the trail oldest first.
func (f trailFixture) rows(t *testing.T) []trail.Event {
	t.Helper()
	rows, err := f.db.AdminEvents().List(context.Background(), store.AdminEventFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Every management action writes its row, with the actor, vault, target,
// the client's address and the outcome, and no row holds a value, a
// password or a token.
func TestEveryManagementActionIsRecorded(t *testing.T) {
	f := newTrailFixture(t)
	b, owner := f.b, f.owner
	ctx := WithSource(context.Background(), "198.51.100.9")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var tokens []string
	login, err := b.Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	must(login, err)
	tokens = append(tokens, login.Token)
	if _, err := b.Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: wrongPassword}); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := b.Login(ctx, apitype.Credentials{Email: "nobody@example.com", Password: wrongPassword}); err == nil {
		t.Fatal("unknown account accepted")
	}
	must(b.CreateVault(ctx, owner, apitype.CreateVaultRequest{Name: "prod"}))
	must(b.SetCredentials(ctx, owner, apitype.SetCredentialsRequest{Vault: "prod", Credentials: map[string]string{"API_KEY": secretValue}}))
	must(b.ListCredentials(ctx, owner, "prod", true, ""))
	must(b.UpsertServices(ctx, owner, "prod", apitype.ServiceList{Services: []apitype.Service{{Name: "api", Host: "api.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "API_KEY"}}}}))
	ag, err := b.CreateAgent(ctx, owner, apitype.CreateAgentRequest{Name: "bot", Vaults: []apitype.AgentVault{{VaultName: "prod", VaultRole: "proxy"}}})
	must(ag, err)
	tokens = append(tokens, ag.Token)
	agent, err := b.Authenticate(ctx, ag.Token)
	must(agent, err)
	if _, err := b.ListCredentials(ctx, agent, "prod", true, ""); err == nil {
		t.Fatal("an agent read a value")
	}
	rot, err := b.RotateAgent(ctx, owner, "bot")
	must(rot, err)
	tokens = append(tokens, rot.Token)
	agent, err = b.Authenticate(ctx, rot.Token)
	must(agent, err)
	p, err := b.CreateProposal(ctx, agent, "prod", apitype.CreateProposalRequest{
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "NEW_KEY", Value: ptr(secretProposed)}}, Message: "need a key"})
	must(p, err)
	must(b.ApproveProposal(ctx, owner, p.ID, apitype.ApproveProposalRequest{Credentials: map[string]string{"NEW_KEY": secretApproved}}))
	p2, err := b.CreateProposal(ctx, agent, "prod", apitype.CreateProposalRequest{
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "OTHER_KEY"}}, Message: "another"})
	must(p2, err)
	must(b.RejectProposal(ctx, owner, p2.ID, apitype.RejectProposalRequest{Reason: "no"}))
	sess, err := b.CreateScopedSession(ctx, owner, apitype.CreateScopedSessionRequest{Vault: "prod"})
	must(sess, err)
	tokens = append(tokens, sess.Token)
	must(b.RevokeScopedSession(ctx, owner, sess.ID))
	inv, err := b.CreateInvite(ctx, owner, apitype.InviteRequest{Email: "member@example.com", Vaults: []apitype.UserVault{{VaultName: "prod", VaultRole: "member"}}})
	must(inv, err)
	tokens = append(tokens, inv.Token)
	must(b.AcceptInvite(ctx, inv.Token, apitype.AcceptInviteRequest{Password: "member-password"}))
	must(b.SetVaultUserRole(ctx, owner, "prod", "member@example.com", apitype.RoleRequest{Role: "admin"}))
	must(b.AdminSetRole(ctx, owner, "member@example.com", apitype.RoleRequest{Role: "no-access"}))
	must(b.UpdateInstanceSettings(ctx, owner, apitype.InstanceSettings{InviteOnly: ptr(false), AuditRetentionDays: ptr(30)}))
	must(b.DeleteCredentials(ctx, owner, apitype.DeleteCredentialsRequest{Vault: "prod", Keys: []string{"NEW_KEY"}}))
	must(b.RevokeAgent(ctx, owner, "bot"))
	must(b.UpdateVaultSettings(ctx, owner, "prod", apitype.VaultSettings{UnmatchedHostPolicy: "deny"}))
	second, err := b.Authenticate(ctx, login.Token)
	must(second, err)
	must(b.RevokeSession(ctx, owner, second.SessionID))
	if _, err := b.ChangePassword(ctx, owner, apitype.ChangePasswordRequest{CurrentPassword: wrongPassword, NewPassword: "new-owner-password"}); err == nil {
		t.Fatal("wrong current password accepted")
	}
	cp, err := b.ChangePassword(ctx, owner, apitype.ChangePasswordRequest{CurrentPassword: "owner-password", NewPassword: "new-owner-password"})
	must(cp, err)
	tokens = append(tokens, cp.Token)
	fresh, err := b.Authenticate(ctx, cp.Token)
	must(fresh, err)
	must(b.Logout(ctx, fresh))

	type want struct{ action, actor, vault, outcome string }
	wants := []want{
		{trail.Register, "owner@example.com", "", trail.Success},
		{trail.Login, "owner@example.com", "", trail.Success},
		{trail.Login, "owner@example.com", "", trail.Failure},
		{trail.Login, "nobody@example.com", "", trail.Failure},
		{trail.VaultCreate, "owner@example.com", "prod", trail.Success},
		{trail.CredentialSet, "owner@example.com", "prod", trail.Success},
		{trail.CredentialRead, "owner@example.com", "prod", trail.Success},
		{trail.ServiceChange, "owner@example.com", "prod", trail.Success},
		{trail.AgentGrant, "owner@example.com", "prod", trail.Success},
		{trail.AgentCreate, "owner@example.com", "", trail.Success},
		{trail.CredentialRead, "agent:bot", "prod", trail.Failure},
		{trail.AgentRotate, "owner@example.com", "", trail.Success},
		{trail.ProposalCreate, "agent:bot", "prod", trail.Success},
		{trail.ProposalApprove, "owner@example.com", "prod", trail.Success},
		{trail.ProposalCreate, "agent:bot", "prod", trail.Success},
		{trail.ProposalReject, "owner@example.com", "prod", trail.Success},
		{trail.ScopedMint, "owner@example.com", "prod", trail.Success},
		{trail.ScopedRevoke, "owner@example.com", "prod", trail.Success},
		{trail.InviteCreate, "owner@example.com", "", trail.Success},
		{trail.InviteAccept, "member@example.com", "", trail.Success},
		{trail.MemberRole, "owner@example.com", "prod", trail.Success},
		{trail.UserRole, "owner@example.com", "", trail.Success},
		{trail.SettingsUpdate, "owner@example.com", "", trail.Success},
		{trail.CredentialDel, "owner@example.com", "prod", trail.Success},
		{trail.AgentRevoke, "owner@example.com", "", trail.Success},
		{trail.VaultSettings, "owner@example.com", "prod", trail.Success},
		{trail.SessionRevoke, "owner@example.com", "", trail.Success},
		{trail.PasswordChange, "owner@example.com", "", trail.Failure},
		{trail.PasswordChange, "owner@example.com", "", trail.Success},
		{trail.Logout, "owner@example.com", "", trail.Success},
	}
	rows := f.rows(t)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Action, r.ActorName, r.Vault, r.Outcome))
	}
	var expect []string
	for _, w := range wants {
		expect = append(expect, fmt.Sprintf("%s %s %s %s", w.action, w.actor, w.vault, w.outcome))
	}
	if strings.Join(got, "\n") != strings.Join(expect, "\n") {
		t.Fatalf("trail:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(expect, "\n"))
	}
	for _, r := range rows[1:] { // the first row is the registration, before the context had a source
		if r.Source != "198.51.100.9" {
			t.Errorf("%s: source %q", r.Action, r.Source)
		}
		if r.ActorKind == trail.ActorUser && r.ActorName == "owner@example.com" && r.ActorID != owner.User.ID {
			t.Errorf("%s: actor id %q, want %q", r.Action, r.ActorID, owner.User.ID)
		}
	}
	if r := rows[10]; r.VaultID == "" || r.Outcome != trail.Failure || r.ActorID != agent.Agent.ID {
		t.Errorf("refused reveal row: %+v", r)
	}
	for _, i := range []int{2, 3, 27} { // failed logins, wrong current password
		if rows[i].Detail != "invalid_credentials" {
			t.Errorf("%s failure detail %q", rows[i].Action, rows[i].Detail)
		}
	}
	if rows[3].ActorID != "" {
		t.Errorf("failed login of an unknown account names id %q", rows[3].ActorID)
	}
	// Nothing secret anywhere in the table, whatever the column.
	needles := append([]string{secretValue, secretProposed, secretApproved, wrongPassword, "owner-password", "member-password"}, tokens...)
	assertTableHoldsNone(t, f.db.SQL(), needles)
	if res, err := b.verifyTrail(context.Background()); err != nil || !res.OK || res.Checked != int64(len(wants)) {
		t.Fatalf("verify: %+v, %v", res, err)
	}
}

func ptr[T any](v T) *T { return &v }

// assertTableHoldsNone reads every column of every trail row as text.
func assertTableHoldsNone(t *testing.T, db *sql.DB, needles []string) {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM admin_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			for _, needle := range needles {
				if needle != "" && strings.Contains(s, needle) {
					t.Errorf("row %d column %s holds a secret (%.12s…)", n, cols[i], needle)
				}
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no rows to search")
	}
}

// A rolled-back action leaves no row: a credential write refused halfway
// (its vault missing) writes nothing, and the chain still verifies.
func TestRefusedActionLeavesNoSuccessRow(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	before := len(f.rows(t))
	_, err := f.b.SetCredentials(ctx, f.owner, apitype.SetCredentialsRequest{Vault: "missing", Credentials: map[string]string{"K": secretValue}})
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	_, err = f.b.DeleteCredentials(ctx, f.owner, apitype.DeleteCredentialsRequest{Vault: "default", Keys: []string{"ABSENT"}})
	if err == nil {
		t.Fatal("deleting an absent key succeeded")
	}
	// An agent whose first grant was recorded before its second failed:
	// the whole transaction, that row included, rolls back.
	_, err = f.b.CreateAgent(ctx, f.owner, apitype.CreateAgentRequest{Name: "half", Vaults: []apitype.AgentVault{{VaultName: "default"}, {VaultName: "missing"}}})
	if !errs.Is(err, errs.KindNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	if after := len(f.rows(t)); after != before {
		t.Fatalf("%d rows written by refused actions", after-before)
	}
	if _, err := f.b.CreateVault(ctx, f.owner, apitype.CreateVaultRequest{Name: "after"}); err != nil {
		t.Fatal(err)
	}
	if res, err := f.b.verifyTrail(ctx); err != nil || !res.OK || res.HeadSeq != int64(before+1) {
		t.Fatalf("verify after rollbacks: %+v, %v", res, err)
	}
}

// When the trail cannot be written the action fails too: a committed
// action always has its row.
func TestActionFailsWhenItsRowCannotBeWritten(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	if _, err := f.db.SQL().Exec(`DELETE FROM admin_event_head`); err != nil {
		t.Fatal(err)
	}
	_, err := f.b.CreateVault(ctx, f.owner, apitype.CreateVaultRequest{Name: "ghost"})
	if err == nil {
		t.Fatal("the action committed without its row")
	}
	if _, err := f.db.Vaults().ByName(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the vault exists without its row: %v", err)
	}
	res, err := f.b.verifyTrail(ctx)
	if err != nil || res.OK || res.Problem == nil || res.Problem.Kind != trail.HeadBad {
		t.Fatalf("verify with the head deleted: %+v, %v", res, err)
	}
}

// Reading the trail: owners read it all, a vault's admins its rows,
// members and agents nothing.
func TestTrailReadPermissions(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	b, owner := f.b, f.owner
	if _, err := b.CreateVault(ctx, owner, apitype.CreateVaultRequest{Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"admin@example.com", "member@example.com"} {
		inv, err := b.CreateInvite(ctx, owner, apitype.InviteRequest{Email: email, Vaults: []apitype.UserVault{{VaultName: "prod", VaultRole: "member"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.AcceptInvite(ctx, inv.Token, apitype.AcceptInviteRequest{Password: "a-password-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.SetVaultUserRole(ctx, owner, "prod", "admin@example.com", apitype.RoleRequest{Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	actor := func(email string) Actor {
		tok, err := b.Login(ctx, apitype.Credentials{Email: email, Password: "a-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := b.Authenticate(ctx, tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	admin, member := actor("admin@example.com"), actor("member@example.com")
	ag, err := b.CreateAgent(ctx, owner, apitype.CreateAgentRequest{Name: "bot", Role: "owner", Vaults: []apitype.AgentVault{{VaultName: "prod", VaultRole: "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := b.Authenticate(ctx, ag.Token)

	if _, err := b.AdminAudit(ctx, owner, AuditQuery{}); err != nil {
		t.Fatalf("owner: %v", err)
	}
	if _, err := b.VaultAudit(ctx, owner, "prod", AuditQuery{}); err != nil {
		t.Fatalf("owner, vault: %v", err)
	}
	page, err := b.VaultAudit(ctx, admin, "prod", AuditQuery{})
	if err != nil {
		t.Fatalf("vault admin: %v", err)
	}
	for _, e := range page.Events {
		if e.Vault != "prod" {
			t.Fatalf("vault admin sees another vault's row: %+v", e)
		}
	}
	if len(page.Events) == 0 {
		t.Fatal("vault admin sees no rows")
	}
	for name, try := range map[string]func() error{
		"vault admin, whole trail": func() error { _, err := b.AdminAudit(ctx, admin, AuditQuery{}); return err },
		"vault admin, verify":      func() error { _, err := b.VerifyAudit(ctx, admin); return err },
		"vault admin, other vault": func() error { _, err := b.VaultAudit(ctx, admin, "default", AuditQuery{}); return err },
		"member, vault":            func() error { _, err := b.VaultAudit(ctx, member, "prod", AuditQuery{}); return err },
		"member, whole trail":      func() error { _, err := b.AdminAudit(ctx, member, AuditQuery{}); return err },
		"owner-role agent, trail":  func() error { _, err := b.AdminAudit(ctx, agent, AuditQuery{}); return err },
		"admin agent, vault":       func() error { _, err := b.VaultAudit(ctx, agent, "prod", AuditQuery{}); return err },
	} {
		err := try()
		if k := errs.KindOf(err); k != errs.KindForbidden && k != errs.KindNotFound {
			t.Errorf("%s: want 403 or 404, got %v", name, err)
		}
	}
}

// Retention deletes old rows, records that it did, and the rest verifies.
func TestPruneAuditKeepsVerification(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	if _, err := f.b.UpdateInstanceSettings(ctx, f.owner, apitype.InstanceSettings{AuditRetentionDays: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	n0 := len(f.rows(t))
	later := f.b.now().Add(49 * time.Hour)
	f.b.now = func() time.Time { return later }
	if _, err := f.b.CreateVault(ctx, f.owner, apitype.CreateVaultRequest{Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	n, err := f.b.PruneAudit(ctx)
	if err != nil || n != int64(n0) {
		t.Fatalf("pruned %d of %d, %v", n, n0, err)
	}
	rows := f.rows(t)
	if len(rows) != 2 || rows[0].Action != trail.VaultCreate || rows[1].Action != trail.TrailPrune {
		t.Fatalf("after prune: %+v", rows)
	}
	res, err := f.b.verifyTrail(ctx)
	if err != nil || !res.OK || res.CutSeq != int64(n0) {
		t.Fatalf("verify after prune: %+v, %v", res, err)
	}
}

// The other actions: vault deletion and renaming, joining and leaving,
// member and user removal, invites revoked, services removed and cleared,
// agents renamed, re-roled, ungranted and deleted, password resets (right
// and wrong code) and account deletion.
func TestTheOtherActionsAreRecorded(t *testing.T) {
	f := newTrailFixture(t)
	b, owner := f.b, f.owner
	ctx := WithSource(context.Background(), "2001:db8::5")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	start := len(f.rows(t))
	must(b.CreateVault(ctx, owner, apitype.CreateVaultRequest{Name: "tmp"}))
	must(b.RenameVault(ctx, owner, "tmp", apitype.RenameVaultRequest{Name: "tmp2"}))
	must(b.SetCredentials(ctx, owner, apitype.SetCredentialsRequest{Vault: "tmp2", Credentials: map[string]string{"K": secretValue}}))
	must(b.BindCredential(ctx, owner, apitype.BindCredentialRequest{Vault: "tmp2", Key: "K", Hosts: []string{"extra.example.com"}}))
	must(b.UnbindCredential(ctx, owner, apitype.BindCredentialRequest{Vault: "tmp2", Key: "K", Hosts: []string{"extra.example.com"}}))
	must(b.UpsertServices(ctx, owner, "tmp2", apitype.ServiceList{Services: []apitype.Service{
		{Name: "one", Host: "one.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "K"}},
		{Name: "two", Host: "two.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "K"}}}}))
	must(b.PatchService(ctx, owner, "tmp2", "one", apitype.ServicePatch{Enabled: ptr(false)}))
	must(b.RemoveService(ctx, owner, "tmp2", "one"))
	must(b.ClearServices(ctx, owner, "tmp2"))
	must(b.CreateAgent(ctx, owner, apitype.CreateAgentRequest{Name: "bot"}))
	must(b.AddVaultAgent(ctx, owner, "tmp2", apitype.VaultAgentRequest{Name: "bot", Role: "proxy"}))
	must(b.SetVaultAgentRole(ctx, owner, "tmp2", "bot", apitype.RoleRequest{Role: "member"}))
	must(b.RemoveVaultAgent(ctx, owner, "tmp2", "bot"))
	must(b.RenameAgent(ctx, owner, "bot", apitype.RenameVaultRequest{Name: "bot2"}))
	must(b.SetAgentRole(ctx, owner, "bot2", apitype.RoleRequest{Role: "member"}))
	must(b.DeleteAgent(ctx, owner, "bot2"))
	inv, err := b.CreateInvite(ctx, owner, apitype.InviteRequest{Email: "gone@example.com"})
	must(inv, err)
	must(b.RevokeInvite(ctx, owner, inv.Token))
	inv2, err := b.CreateInvite(ctx, owner, apitype.InviteRequest{Email: "m@example.com"})
	must(inv2, err)
	must(b.AcceptInvite(ctx, inv2.Token, apitype.AcceptInviteRequest{Password: "m-password-1"}))
	must(b.AddVaultUser(ctx, owner, "tmp2", apitype.VaultUserRequest{Email: "m@example.com", Role: "admin"}))
	must(b.LeaveVault(ctx, owner, "tmp2"))
	must(b.JoinVault(ctx, owner, "tmp2"))
	must(b.RemoveVaultUser(ctx, owner, "tmp2", "m@example.com"))
	must(b.DeleteVault(ctx, owner, "tmp2"))
	must(b.ForgotPassword(ctx, apitype.ForgotPasswordRequest{Email: "m@example.com"}))
	b.WaitForMail(ctx)
	codes := f.box.codes()
	if len(codes) != 1 {
		t.Fatalf("codes %v", codes)
	}
	wrong := "000000"
	if codes[0] == wrong {
		wrong = "000001"
	}
	if _, err := b.ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "m@example.com", Code: wrong, NewPassword: "m-password-2"}); err == nil {
		t.Fatal("a wrong code worked")
	}
	must(b.ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "m@example.com", Code: codes[0], NewPassword: "m-password-2"}))
	must(b.AdminDeleteUser(ctx, owner, "m@example.com", ""))
	inv3, err := b.CreateInvite(ctx, owner, apitype.InviteRequest{Email: "self@example.com"})
	must(inv3, err)
	must(b.AcceptInvite(ctx, inv3.Token, apitype.AcceptInviteRequest{Password: "s-password-1"}))
	tok, err := b.Login(ctx, apitype.Credentials{Email: "self@example.com", Password: "s-password-1"})
	must(tok, err)
	self, err := b.Authenticate(ctx, tok.Token)
	must(self, err)
	must(b.DeleteAccount(ctx, self))
	must(b.TestEmail(ctx, owner, apitype.EmailTestRequest{}))

	want := []string{
		"vault.create tmp", "vault.rename tmp2", "credential.set tmp2", "credential.bind tmp2", "credential.unbind tmp2", "service.change tmp2 upsert", "service.change tmp2 enabled=false",
		"service.change tmp2 remove", "service.change tmp2 clear", "agent.create", "vault_agent.add tmp2", "vault_agent.role tmp2",
		"vault_agent.remove tmp2", "agent.rename", "agent.role", "agent.delete", "invite.create", "invite.revoke", "invite.create",
		"invite.accept", "vault_user.add tmp2", "vault.leave tmp2", "vault.join tmp2", "vault_user.remove tmp2", "vault.delete tmp2",
		"auth.password_reset failure", "auth.password_reset", "user.delete", "invite.create", "invite.accept", "auth.login",
		"auth.account_delete", "email.test",
	}
	var got []string
	for _, r := range f.rows(t)[start:] {
		g := r.Action
		if r.Vault != "" {
			g += " " + r.Vault
		}
		if r.Action == trail.ServiceChange {
			g += " " + r.Detail
		}
		if r.Outcome != trail.Success {
			g += " " + r.Outcome
		}
		got = append(got, g)
		if r.Source != "2001:db8::5" {
			t.Errorf("%s: source %q", r.Action, r.Source)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trail:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	assertTableHoldsNone(t, f.db.SQL(), []string{secretValue, codes[0], "m-password-1", "m-password-2", "s-password-1", inv.Token, inv2.Token, inv3.Token, tok.Token})
	if res, err := b.verifyTrail(context.Background()); err != nil || !res.OK {
		t.Fatalf("verify: %+v, %v", res, err)
	}
}

// The trail's query parameters come from any authenticated caller: the
// parser never panics, and what it accepts is within bounds.
func FuzzAuditQuery(f *testing.F) {
	f.Add("credential.", "owner@example.com", "2026-01-02T03:04:05Z", "", "10", "", "50")
	f.Add("", "", "yesterday", "2026-13-01T00:00:00Z", "-1", "x", "0")
	f.Fuzz(func(t *testing.T, action, actor, since, until, before, after, limit string) {
		q := AuditQuery{Action: action, Actor: actor, Since: since, Until: until, Before: before, After: after, Limit: limit}
		fl, err := q.filter(time.Now())
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if fl.Limit < 1 || fl.Limit > listPageMax || fl.Before < 0 || fl.After < 0 || len(fl.Actor) > maxTrailField || len(fl.Action) > maxTrailField {
			t.Fatalf("accepted out of bounds: %+v", fl)
		}
		if fl.Ascending != (after != "") || (before != "" && after != "") {
			t.Fatalf("direction: %+v", fl)
		}
	})
}

// A caller repeating a refused action cannot grow the trail at its
// request rate: one row per actor and action every ten seconds, the next
// row counting those left out.
func TestRepeatedFailuresAreCountedNotWritten(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	ag, err := f.b.CreateAgent(ctx, f.owner, apitype.CreateAgentRequest{Name: "bot", Vaults: []apitype.AgentVault{{VaultName: "default"}}})
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := f.b.Authenticate(ctx, ag.Token)
	now := f.b.now()
	f.b.now = func() time.Time { return now }
	for range 50 {
		if _, err := f.b.ListCredentials(ctx, agent, "default", true, ""); err == nil {
			t.Fatal("an agent read values")
		}
		if _, err := f.b.Login(ctx, apitype.Credentials{Email: "owner@example.com", Password: wrongPassword}); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	now = now.Add(11 * time.Second)
	_, _ = f.b.ListCredentials(ctx, agent, "default", true, "")
	var failures []trail.Event
	for _, r := range f.rows(t) {
		if r.Outcome == trail.Failure {
			failures = append(failures, r)
		}
	}
	if len(failures) != 3 {
		t.Fatalf("%d failure rows for 101 failures, want 3: %+v", len(failures), failures)
	}
	if last := failures[2]; last.Action != trail.CredentialRead || !strings.Contains(last.Detail, "+49 more") {
		t.Fatalf("the row after the quiet period: %+v", last)
	}
}

// An agent with the instance role owner knows only the vaults it was
// granted, as any agent: seeing every vault is for owners who are people
// (docs/permissions.md). Another vault reads as a typo does, everywhere.
func TestOwnerRoleAgentSeesOnlyItsVaults(t *testing.T) {
	f := newTrailFixture(t)
	b, owner, ctx := f.b, f.owner, context.Background()
	for _, name := range []string{"prod", "secret-project"} {
		if _, err := b.CreateVault(ctx, owner, apitype.CreateVaultRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	ag, err := b.CreateAgent(ctx, owner, apitype.CreateAgentRequest{Name: "ops-bot", Role: "owner", Vaults: []apitype.AgentVault{{VaultName: "prod", VaultRole: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := b.Authenticate(ctx, ag.Token)
	if err != nil {
		t.Fatal(err)
	}
	list, err := b.ListVaults(ctx, agent)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Vaults) != 1 || list.Vaults[0].Name != "prod" {
		t.Errorf("the owner-role agent lists %+v, want prod alone", list.Vaults)
	}
	typo := func(err error) string { return strings.ReplaceAll(fmt.Sprint(err), "no-such-vault", "X") }
	for what, try := range map[string]func(name string) error{
		"vault context": func(n string) error { _, err := b.VaultContext(ctx, agent, n); return err },
		"services":      func(n string) error { _, err := b.ListServices(ctx, agent, n); return err },
		"delete":        func(n string) error { _, err := b.DeleteVault(ctx, agent, n); return err },
	} {
		hidden, missing := try("secret-project"), try("no-such-vault")
		if errs.KindOf(hidden) != errs.KindNotFound || strings.ReplaceAll(fmt.Sprint(hidden), "secret-project", "X") != typo(missing) {
			t.Errorf("%s: another vault answers %v, a typo %v: want the same not-found", what, hidden, missing)
		}
	}
	// The owner, a person, still sees every vault.
	if list, err := b.ListVaults(ctx, owner); err != nil || len(list.Vaults) != 3 {
		t.Errorf("the owner lists %+v (%v), want all three", list.Vaults, err)
	}
}
