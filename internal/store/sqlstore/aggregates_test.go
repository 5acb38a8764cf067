package sqlstore_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
)

func TestUsers(t *testing.T) {
	db := newDB(t)
	us := db.Users()
	createUser(t, db, user("u2", "zed@example.com", model.RoleMember))
	createUser(t, db, user("u1", "amy@example.com", model.RoleOwner))
	createUser(t, db, user("u3", "max@example.com", model.RoleNoAccess))

	got, err := us.ByEmail(ctx, "amy@example.com")
	mustNil(t, err)
	want := user("u1", "amy@example.com", model.RoleOwner)
	if got.ID != want.ID || got.Email != want.Email || got.PasswordHash != want.PasswordHash || got.Role != want.Role {
		t.Errorf("ByEmail = %+v, want %+v", got, want)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, t0)
	sameTime(t, "UpdatedAt", got.UpdatedAt, t0)
	if byID, err := us.ByID(ctx, "u1"); err != nil || byID.Email != "amy@example.com" {
		t.Errorf("ByID = %+v, %v", byID, err)
	}

	list, err := us.List(ctx)
	mustNil(t, err)
	if len(list) != 3 || list[0].Email != "amy@example.com" || list[1].Email != "max@example.com" || list[2].Email != "zed@example.com" {
		t.Errorf("List not ordered by email: %+v", list)
	}
	if n, err := us.Count(ctx); err != nil || n != 3 {
		t.Errorf("Count = %d, %v", n, err)
	}
	for r, want := range map[model.InstanceRole]int{model.RoleOwner: 1, model.RoleMember: 1, model.RoleNoAccess: 1, "x": 0} {
		if n, err := us.CountByRole(ctx, r); err != nil || n != want {
			t.Errorf("CountByRole(%s) = %d, %v; want %d", r, n, err, want)
		}
	}

	later := t0.Add(time.Hour)
	mustNil(t, us.SetPassword(ctx, "u2", "new-hash", later))
	mustNil(t, us.SetRole(ctx, "u2", model.RoleOwner, later.Add(time.Second)))
	u2, _ := us.ByID(ctx, "u2")
	if u2.PasswordHash != "new-hash" || u2.Role != model.RoleOwner {
		t.Errorf("after updates: %+v", u2)
	}
	sameTime(t, "UpdatedAt after SetRole", u2.UpdatedAt, later.Add(time.Second))
	sameTime(t, "CreatedAt after updates", u2.CreatedAt, t0)
	if n, _ := us.CountByRole(ctx, model.RoleOwner); n != 2 {
		t.Errorf("owners after SetRole = %d", n)
	}

	mustNil(t, us.Delete(ctx, "u3"))
	wantErr(t, "ByID deleted", func() error { _, err := us.ByID(ctx, "u3"); return err }(), store.ErrNotFound)
}

func TestUsersNotFoundAndConflict(t *testing.T) {
	db := newDB(t)
	us := db.Users()
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))

	_, err := us.ByEmail(ctx, "nobody@example.com")
	wantErr(t, "ByEmail missing", err, store.ErrNotFound)
	_, err = us.ByID(ctx, "nope")
	wantErr(t, "ByID missing", err, store.ErrNotFound)
	wantErr(t, "SetPassword missing", us.SetPassword(ctx, "nope", "h", t0), store.ErrNotFound)
	wantErr(t, "SetRole missing", us.SetRole(ctx, "nope", model.RoleMember, t0), store.ErrNotFound)
	wantErr(t, "Delete missing", us.Delete(ctx, "nope"), store.ErrNotFound)
	wantErr(t, "Delete twice", func() error { mustNil(t, us.Delete(ctx, "u1")); return us.Delete(ctx, "u1") }(), store.ErrNotFound)

	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	wantErr(t, "duplicate email", us.Create(ctx, user("u2", "a@example.com", model.RoleMember)), store.ErrConflict)
	wantErr(t, "duplicate id", us.Create(ctx, user("u1", "b@example.com", model.RoleMember)), store.ErrConflict)
	if n, _ := us.Count(ctx); n != 1 {
		t.Errorf("conflicting creates left %d users", n)
	}
	// The schema's CHECK refuses an unknown role; that is not a conflict.
	err = us.Create(ctx, user("u9", "c@example.com", "root"))
	if err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("unknown role: err = %v, want a non-conflict error", err)
	}
	err = us.SetRole(ctx, "u1", "superuser", t0)
	if err == nil {
		t.Error("SetRole accepted an unknown role")
	}
}

func TestSessions(t *testing.T) {
	db := newDB(t)
	ss := db.Sessions()
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	createUser(t, db, user("u2", "b@example.com", model.RoleMember))

	// Created out of order, a few ms apart: listing orders by created_at.
	s2 := session("s2", "u1", t0.Add(2*time.Millisecond))
	s1 := session("s1", "u1", t0.Add(time.Millisecond))
	s3 := session("s3", "u1", t0.Add(1500*time.Microsecond))
	other := session("s9", "u2", t0)
	for _, s := range []model.Session{s2, s1, s3, other} {
		mustNil(t, ss.Create(ctx, s))
	}

	got, err := ss.ByTokenHash(ctx, s1.TokenHash)
	mustNil(t, err)
	if got.ID != "s1" || got.UserID != "u1" || got.DeviceLabel != s1.DeviceLabel || !bytes.Equal(got.TokenHash, s1.TokenHash) {
		t.Errorf("ByTokenHash = %+v", got)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, s1.CreatedAt)
	sameTime(t, "LastUsedAt", got.LastUsedAt, s1.LastUsedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, s1.ExpiresAt)

	list, err := ss.ListByUser(ctx, "u1")
	mustNil(t, err)
	if len(list) != 3 || list[0].ID != "s1" || list[1].ID != "s3" || list[2].ID != "s2" {
		ids := []string{}
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		t.Errorf("ListByUser order = %v, want [s1 s3 s2]", ids)
	}
	if l, err := ss.ListByUser(ctx, "nobody"); err != nil || l == nil || len(l) != 0 {
		t.Errorf("ListByUser(nobody) = %v, %v; want an empty, non-nil list", l, err)
	}

	touched := t0.Add(48 * time.Hour)
	mustNil(t, ss.Touch(ctx, "s1", touched))
	got, _ = ss.ByTokenHash(ctx, s1.TokenHash)
	sameTime(t, "LastUsedAt after Touch", got.LastUsedAt, touched)
	sameTime(t, "ExpiresAt after Touch", got.ExpiresAt, s1.ExpiresAt)
	wantErr(t, "Touch missing", ss.Touch(ctx, "nope", touched), store.ErrNotFound)

	// A user cannot delete another user's session.
	wantErr(t, "Delete other user's", ss.Delete(ctx, "u2", "s1"), store.ErrNotFound)
	mustNil(t, ss.Delete(ctx, "u1", "s1"))
	_, err = ss.ByTokenHash(ctx, s1.TokenHash)
	wantErr(t, "ByTokenHash deleted", err, store.ErrNotFound)
	wantErr(t, "Delete twice", ss.Delete(ctx, "u1", "s1"), store.ErrNotFound)

	mustNil(t, ss.DeleteAllForUser(ctx, "u1", "s3"))
	list, _ = ss.ListByUser(ctx, "u1")
	if len(list) != 1 || list[0].ID != "s3" {
		t.Errorf("after DeleteAllForUser keeping s3: %+v", list)
	}
	if l, _ := ss.ListByUser(ctx, "u2"); len(l) != 1 {
		t.Error("DeleteAllForUser touched another user's sessions")
	}
	mustNil(t, ss.DeleteAllForUser(ctx, "u1", ""))
	if l, _ := ss.ListByUser(ctx, "u1"); len(l) != 0 {
		t.Errorf("DeleteAllForUser with no keep left %d", len(l))
	}
}

func TestSessionsConflictAndForeignKey(t *testing.T) {
	db := newDB(t)
	ss := db.Sessions()
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	s := session("s1", "u1", t0)
	mustNil(t, ss.Create(ctx, s))
	dupHash := session("s2", "u1", t0)
	dupHash.TokenHash = s.TokenHash
	wantErr(t, "duplicate token hash", ss.Create(ctx, dupHash), store.ErrConflict)
	wantErr(t, "duplicate id", ss.Create(ctx, session("s1", "u1", t0)), store.ErrConflict)
	err := ss.Create(ctx, session("s3", "ghost", t0))
	if err == nil {
		t.Error("created a session for a user that does not exist (foreign keys off?)")
	}
	_, err = ss.ByTokenHash(ctx, token.Hash("av_sess_unknown"))
	wantErr(t, "unknown token", err, store.ErrNotFound)
}

// DeleteExpired removes exactly the sessions model.Session.ActiveAt says
// are no longer usable.
func TestSessionsDeleteExpiredAgreesWithActiveAt(t *testing.T) {
	db := newDB(t)
	ss := db.Sessions()
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	now := time.Date(2026, 6, 1, 12, 0, 0, 500, time.UTC)
	mk := func(id string, lastUsed, expires time.Time) model.Session {
		s := session(id, "u1", lastUsed.Add(-time.Hour))
		s.LastUsedAt, s.ExpiresAt = lastUsed, expires
		return s
	}
	all := []model.Session{
		mk("fresh", now.Add(-time.Minute), now.Add(time.Hour)),
		mk("abs-expired", now.Add(-time.Minute), now.Add(-time.Nanosecond)),
		mk("abs-at-now", now.Add(-time.Minute), now),
		mk("abs-1ns-left", now.Add(-time.Minute), now.Add(time.Nanosecond)),
		mk("idle-expired", now.Add(-model.SessionIdleTTL-time.Second), now.Add(time.Hour)),
		mk("idle-at-now", now.Add(-model.SessionIdleTTL), now.Add(time.Hour)),
		mk("idle-1ns-left", now.Add(-model.SessionIdleTTL+time.Nanosecond), now.Add(time.Hour)),
	}
	wantGone := 0
	for _, s := range all {
		mustNil(t, ss.Create(ctx, s))
		if !s.ActiveAt(now) {
			wantGone++
		}
	}
	n, err := ss.DeleteExpired(ctx, now.In(time.FixedZone("X", -5*3600)))
	mustNil(t, err)
	if int(n) != wantGone {
		t.Errorf("DeleteExpired removed %d, want %d", n, wantGone)
	}
	left, _ := ss.ListByUser(ctx, "u1")
	kept := map[string]bool{}
	for _, s := range left {
		kept[s.ID] = true
	}
	for _, s := range all {
		if kept[s.ID] != s.ActiveAt(now) {
			t.Errorf("session %s: kept=%v but ActiveAt=%v", s.ID, kept[s.ID], s.ActiveAt(now))
		}
	}
}

func TestVaults(t *testing.T) {
	db := newDB(t)
	vs := db.Vaults()
	createVault(t, db, vault("v2", "prod"))
	createVault(t, db, vault("v1", "default"))

	v, err := vs.ByName(ctx, "prod")
	mustNil(t, err)
	if v.ID != "v2" || v.UnmatchedHostPolicy != model.PolicyPassthrough {
		t.Errorf("ByName = %+v", v)
	}
	sameTime(t, "CreatedAt", v.CreatedAt, t0)
	list, _ := vs.List(ctx)
	if len(list) != 2 || list[0].Name != "default" || list[1].Name != "prod" {
		t.Errorf("List not ordered by name: %+v", list)
	}

	wantErr(t, "duplicate name", vs.Create(ctx, vault("v3", "prod")), store.ErrConflict)
	wantErr(t, "duplicate id", vs.Create(ctx, vault("v2", "other")), store.ErrConflict)

	at := t0.Add(time.Minute)
	mustNil(t, vs.Rename(ctx, "v2", "production", at))
	_, err = vs.ByName(ctx, "prod")
	wantErr(t, "old name", err, store.ErrNotFound)
	v, err = vs.ByName(ctx, "production")
	if err != nil || v.ID != "v2" {
		t.Fatalf("renamed vault = %+v, %v", v, err)
	}
	sameTime(t, "UpdatedAt after rename", v.UpdatedAt, at)
	wantErr(t, "rename onto existing", vs.Rename(ctx, "v2", "default", at), store.ErrConflict)
	wantErr(t, "rename missing", vs.Rename(ctx, "nope", "x-y", at), store.ErrNotFound)

	mustNil(t, vs.SetPolicy(ctx, "v2", model.PolicyDeny, at))
	v, _ = vs.ByName(ctx, "production")
	if v.UnmatchedHostPolicy != model.PolicyDeny {
		t.Errorf("policy = %q, want deny", v.UnmatchedHostPolicy)
	}
	if err := vs.SetPolicy(ctx, "v2", "allow-all", at); err == nil {
		t.Error("SetPolicy accepted an unknown policy")
	}
	wantErr(t, "SetPolicy missing", vs.SetPolicy(ctx, "nope", model.PolicyDeny, at), store.ErrNotFound)

	mustNil(t, vs.Delete(ctx, "v2"))
	wantErr(t, "Delete twice", vs.Delete(ctx, "v2"), store.ErrNotFound)
	_, err = vs.ByName(ctx, "production")
	wantErr(t, "ByName deleted", err, store.ErrNotFound)
}

func TestGrants(t *testing.T) {
	db := newDB(t)
	gs := db.Grants()
	createUser(t, db, user("u1", "bob@example.com", model.RoleMember))
	createUser(t, db, user("u2", "amy@example.com", model.RoleMember))
	createVault(t, db, vault("v1", "prod"))
	createVault(t, db, vault("v2", "alpha"))

	put := func(v, u string, r model.VaultRole, at time.Time) {
		mustNil(t, gs.Put(ctx, model.VaultGrant{VaultID: v, UserID: u, Role: r, CreatedAt: at}))
	}
	put("v1", "u1", model.VaultAdmin, t0)
	put("v1", "u2", model.VaultMember, t0)
	put("v2", "u1", model.VaultMember, t0)

	g, err := gs.Get(ctx, "v1", "u1")
	mustNil(t, err)
	if g.VaultName != "prod" || g.Email != "bob@example.com" || g.Role != model.VaultAdmin {
		t.Errorf("Get = %+v", g)
	}
	sameTime(t, "grant CreatedAt", g.CreatedAt, t0)
	_, err = gs.Get(ctx, "v2", "u2")
	wantErr(t, "Get without grant", err, store.ErrNotFound)

	byVault, _ := gs.ListByVault(ctx, "v1")
	if len(byVault) != 2 || byVault[0].Email != "amy@example.com" || byVault[1].Email != "bob@example.com" {
		t.Errorf("ListByVault not ordered by email: %+v", byVault)
	}
	byUser, _ := gs.ListByUser(ctx, "u1")
	if len(byUser) != 2 || byUser[0].VaultName != "alpha" || byUser[1].VaultName != "prod" {
		t.Errorf("ListByUser not ordered by vault name: %+v", byUser)
	}
	if n, _ := gs.CountAdmins(ctx, "v1"); n != 1 {
		t.Errorf("CountAdmins = %d, want 1", n)
	}

	// Put replaces the role in place and keeps the original grant time.
	put("v1", "u2", model.VaultAdmin, t0.Add(time.Hour))
	g, _ = gs.Get(ctx, "v1", "u2")
	if g.Role != model.VaultAdmin {
		t.Errorf("role after re-Put = %q", g.Role)
	}
	sameTime(t, "CreatedAt after re-Put", g.CreatedAt, t0)
	if l, _ := gs.ListByVault(ctx, "v1"); len(l) != 2 {
		t.Errorf("re-Put duplicated the grant: %d rows", len(l))
	}
	if n, _ := gs.CountAdmins(ctx, "v1"); n != 2 {
		t.Errorf("CountAdmins after promotion = %d, want 2", n)
	}

	if err := gs.Put(ctx, model.VaultGrant{VaultID: "v1", UserID: "u1", Role: "owner", CreatedAt: t0}); err == nil {
		t.Error("Put accepted an unknown vault role")
	}
	if err := gs.Put(ctx, model.VaultGrant{VaultID: "ghost", UserID: "u1", Role: model.VaultMember, CreatedAt: t0}); err == nil {
		t.Error("Put accepted a grant on a vault that does not exist")
	}
	if err := gs.Put(ctx, model.VaultGrant{VaultID: "v1", UserID: "ghost", Role: model.VaultMember, CreatedAt: t0}); err == nil {
		t.Error("Put accepted a grant for a user that does not exist")
	}

	mustNil(t, gs.Delete(ctx, "v1", "u2"))
	wantErr(t, "Delete twice", gs.Delete(ctx, "v1", "u2"), store.ErrNotFound)
	if l, err := gs.ListByVault(ctx, "empty"); err != nil || l == nil || len(l) != 0 {
		t.Errorf("ListByVault(empty) = %v, %v", l, err)
	}
}

// Schema: deleting a user cascades to their sessions and vault grants;
// deleting a vault cascades to its grants and invite grants.
func TestForeignKeyCascades(t *testing.T) {
	db := newDB(t)
	createUser(t, db, user("u1", "a@example.com", model.RoleMember))
	createUser(t, db, user("u2", "b@example.com", model.RoleMember))
	createVault(t, db, vault("v1", "prod"))
	createVault(t, db, vault("v2", "dev"))
	for _, g := range []model.VaultGrant{
		{VaultID: "v1", UserID: "u1", Role: model.VaultAdmin, CreatedAt: t0},
		{VaultID: "v2", UserID: "u1", Role: model.VaultMember, CreatedAt: t0},
		{VaultID: "v1", UserID: "u2", Role: model.VaultMember, CreatedAt: t0},
	} {
		mustNil(t, db.Grants().Put(ctx, g))
	}
	mustNil(t, db.Sessions().Create(ctx, session("s1", "u1", t0)))
	mustNil(t, db.Sessions().Create(ctx, session("s2", "u2", t0)))
	inv := model.Invite{
		ID: "i1", TokenHash: token.Hash(token.New(token.PrefixInvite)), Email: "c@example.com", Role: model.RoleMember,
		CreatedBy: "a@example.com", CreatedAt: t0, ExpiresAt: t0.Add(model.InviteTTL),
		Vaults: []model.InviteVault{{VaultID: "v1", Role: model.VaultMember}, {VaultID: "v2", Role: model.VaultProxy}},
	}
	mustNil(t, db.Invites().Create(ctx, inv))

	mustNil(t, db.Users().Delete(ctx, "u1"))
	if l, _ := db.Sessions().ListByUser(ctx, "u1"); len(l) != 0 {
		t.Errorf("deleted user's sessions remain: %d", len(l))
	}
	if l, _ := db.Grants().ListByUser(ctx, "u1"); len(l) != 0 {
		t.Errorf("deleted user's grants remain: %d", len(l))
	}
	var raw int
	mustNil(t, db.SQL().QueryRow(`SELECT count(*) FROM vault_users WHERE user_id = 'u1'`).Scan(&raw))
	if raw != 0 {
		t.Errorf("%d vault_users rows of the deleted user remain", raw)
	}
	if l, _ := db.Sessions().ListByUser(ctx, "u2"); len(l) != 1 {
		t.Error("another user's session was removed")
	}
	// The invite keeps its inviter's email after the inviter is gone.
	if got, err := db.Invites().ByID(ctx, "i1"); err != nil || got.CreatedBy != "a@example.com" {
		t.Errorf("invite after inviter deleted = %+v, %v", got, err)
	}

	mustNil(t, db.Vaults().Delete(ctx, "v1"))
	if l, _ := db.Grants().ListByVault(ctx, "v1"); len(l) != 0 {
		t.Errorf("deleted vault's grants remain: %d", len(l))
	}
	got, err := db.Invites().ByID(ctx, "i1")
	mustNil(t, err)
	if len(got.Vaults) != 1 || got.Vaults[0].VaultID != "v2" {
		t.Errorf("invite vaults after deleting v1 = %+v, want only v2", got.Vaults)
	}
	if _, err := db.Users().ByID(ctx, "u2"); err != nil {
		t.Error("deleting a vault removed a user")
	}
}

func TestInvites(t *testing.T) {
	db := newDB(t)
	iv := db.Invites()
	createVault(t, db, vault("v1", "zeta"))
	createVault(t, db, vault("v2", "alpha"))
	tok := token.New(token.PrefixInvite)
	inv := model.Invite{
		ID: "i1", TokenHash: token.Hash(tok), Email: "new@example.com", Role: model.RoleMember,
		CreatedBy: "owner@example.com", CreatedAt: t0, ExpiresAt: t0.Add(model.InviteTTL),
		Vaults: []model.InviteVault{{VaultID: "v1", Role: model.VaultAdmin}, {VaultID: "v2", Role: model.VaultMember}},
	}
	mustNil(t, iv.Create(ctx, inv))
	plain := model.Invite{
		ID: "i2", TokenHash: token.Hash(token.New(token.PrefixInvite)), Email: "other@example.com", Role: model.RoleNoAccess,
		CreatedBy: "owner@example.com", CreatedAt: t0.Add(time.Millisecond), ExpiresAt: t0.Add(model.InviteTTL),
	}
	mustNil(t, iv.Create(ctx, plain))

	got, err := iv.ByTokenHash(ctx, token.Hash(tok))
	mustNil(t, err)
	if got.ID != "i1" || got.Email != inv.Email || got.Role != inv.Role || got.CreatedBy != inv.CreatedBy || !bytes.Equal(got.TokenHash, inv.TokenHash) {
		t.Errorf("ByTokenHash = %+v", got)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, inv.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, inv.ExpiresAt)
	if got.AcceptedAt != nil || got.RevokedAt != nil {
		t.Errorf("new invite has accepted/revoked times: %v %v", got.AcceptedAt, got.RevokedAt)
	}
	if got.StatusAt(t0) != model.InvitePending {
		t.Errorf("status = %s", got.StatusAt(t0))
	}
	if len(got.Vaults) != 2 || got.Vaults[0].VaultName != "alpha" || got.Vaults[0].Role != model.VaultMember ||
		got.Vaults[1].VaultName != "zeta" || got.Vaults[1].Role != model.VaultAdmin {
		t.Errorf("invite vaults = %+v", got.Vaults)
	}
	if g2, err := iv.ByID(ctx, "i2"); err != nil || g2.Vaults == nil || len(g2.Vaults) != 0 {
		t.Errorf("invite without vaults = %+v, %v", g2, err)
	}

	list, err := iv.List(ctx)
	mustNil(t, err)
	if len(list) != 2 || list[0].ID != "i1" || list[1].ID != "i2" || len(list[0].Vaults) != 2 {
		t.Errorf("List = %+v", list)
	}

	_, err = iv.ByTokenHash(ctx, token.Hash("av_uinv_nope"))
	wantErr(t, "unknown token", err, store.ErrNotFound)
	_, err = iv.ByID(ctx, "nope")
	wantErr(t, "unknown id", err, store.ErrNotFound)

	accepted := t0.Add(time.Hour + 123*time.Nanosecond)
	mustNil(t, iv.MarkAccepted(ctx, "i1", accepted))
	got, _ = iv.ByID(ctx, "i1")
	if got.AcceptedAt == nil {
		t.Fatal("AcceptedAt not stored")
	}
	sameTime(t, "AcceptedAt", *got.AcceptedAt, accepted)
	if got.StatusAt(accepted) != model.InviteAccepted {
		t.Errorf("status after accept = %s", got.StatusAt(accepted))
	}
	// An invite is used once: a second accept, or revoking an accepted one, finds nothing.
	wantErr(t, "accept twice", iv.MarkAccepted(ctx, "i1", accepted), store.ErrNotFound)
	wantErr(t, "revoke accepted", iv.Revoke(ctx, "i1", accepted), store.ErrNotFound)

	mustNil(t, iv.Revoke(ctx, "i2", accepted))
	got, _ = iv.ByID(ctx, "i2")
	if got.RevokedAt == nil || got.StatusAt(accepted) != model.InviteRevoked {
		t.Errorf("after revoke: %+v", got)
	}
	wantErr(t, "accept revoked", iv.MarkAccepted(ctx, "i2", accepted), store.ErrNotFound)
	wantErr(t, "revoke twice", iv.Revoke(ctx, "i2", accepted), store.ErrNotFound)
	wantErr(t, "accept missing", iv.MarkAccepted(ctx, "nope", accepted), store.ErrNotFound)
}

func TestInviteCreateIsAtomic(t *testing.T) {
	db := newDB(t)
	iv := db.Invites()
	createVault(t, db, vault("v1", "prod"))
	base := model.Invite{
		ID: "i1", TokenHash: token.Hash(token.New(token.PrefixInvite)), Email: "x@example.com", Role: model.RoleMember,
		CreatedBy: "o@example.com", CreatedAt: t0, ExpiresAt: t0.Add(model.InviteTTL),
	}
	mustNil(t, iv.Create(ctx, base))

	dup := base
	dup.ID = "i2"
	wantErr(t, "duplicate token hash", iv.Create(ctx, dup), store.ErrConflict)

	// A vault that does not exist fails the whole invite, not half of it.
	bad := base
	bad.ID, bad.TokenHash = "i3", token.Hash(token.New(token.PrefixInvite))
	bad.Vaults = []model.InviteVault{{VaultID: "v1", Role: model.VaultMember}, {VaultID: "ghost", Role: model.VaultMember}}
	if err := iv.Create(ctx, bad); err == nil {
		t.Fatal("invite with an unknown vault was created")
	}
	_, err := iv.ByID(ctx, "i3")
	wantErr(t, "half-created invite", err, store.ErrNotFound)
	var n int
	mustNil(t, db.SQL().QueryRow(`SELECT count(*) FROM invite_vaults WHERE invite_id = 'i3'`).Scan(&n))
	if n != 0 {
		t.Errorf("%d invite_vaults rows of the failed invite remain", n)
	}

	// The same vault twice is a conflict, also rolled back.
	twice := base
	twice.ID, twice.TokenHash = "i4", token.Hash(token.New(token.PrefixInvite))
	twice.Vaults = []model.InviteVault{{VaultID: "v1", Role: model.VaultMember}, {VaultID: "v1", Role: model.VaultAdmin}}
	wantErr(t, "vault twice", iv.Create(ctx, twice), store.ErrConflict)
	_, err = iv.ByID(ctx, "i4")
	wantErr(t, "invite with a duplicated vault", err, store.ErrNotFound)

	// Inside a caller's transaction, Create joins it and rolls back with it.
	boom := errors.New("boom")
	err = db.InTx(ctx, func(tx store.Store) error {
		ok := base
		ok.ID, ok.TokenHash = "i5", token.Hash(token.New(token.PrefixInvite))
		ok.Vaults = []model.InviteVault{{VaultID: "v1", Role: model.VaultMember}}
		mustNil(t, tx.Invites().Create(ctx, ok))
		return boom
	})
	wantErr(t, "outer tx", err, boom)
	_, err = iv.ByID(ctx, "i5")
	wantErr(t, "invite created in rolled-back tx", err, store.ErrNotFound)
}

func TestSettings(t *testing.T) {
	db := newDB(t)
	s, err := db.Settings().Get(ctx)
	mustNil(t, err)
	if !s.InviteOnly {
		t.Error("fresh instance is not invite-only")
	}
	mustNil(t, db.Settings().Put(ctx, model.Settings{InviteOnly: false}))
	if s, _ := db.Settings().Get(ctx); s.InviteOnly {
		t.Error("InviteOnly=false not stored")
	}
	mustNil(t, db.Settings().Put(ctx, model.Settings{InviteOnly: true}))
	if s, _ := db.Settings().Get(ctx); !s.InviteOnly {
		t.Error("InviteOnly=true not stored")
	}
	var rows int
	mustNil(t, db.SQL().QueryRow(`SELECT count(*) FROM settings`).Scan(&rows))
	if rows != 7 { // one row per setting key, each upserted
		t.Errorf("Put twice left %d rows, want 7 (one per setting, upserted)", rows)
	}
	mustNil(t, db.Settings().Put(ctx, model.Settings{InviteOnly: true, AuditRetentionDays: 90}))
	if s, _ := db.Settings().Get(ctx); s.AuditRetentionDays != 90 {
		t.Errorf("AuditRetentionDays = %d, want 90", s.AuditRetentionDays)
	}
	// A corrupt stored value is an error, not a silent default.
	_, err = db.SQL().Exec(`UPDATE settings SET value = 'maybe'`)
	mustNil(t, err)
	if _, err := db.Settings().Get(ctx); err == nil {
		t.Error("Get accepted a corrupt invite_only value")
	}
}

func TestKeyringLoadSave(t *testing.T) {
	db := newDB(t)
	ks := db.Keyring()
	st, ok, err := ks.Load(ctx)
	if err != nil || ok || st.Protected() || st.Plain != nil {
		t.Fatalf("fresh Load = %+v, %v, %v; want nothing", st.KDF, ok, err)
	}

	kdf := keyring.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	kr, plain, err := keyring.New(secret.Bytes{}, kdf)
	mustNil(t, err)
	ad := keyring.AD("credential", "v1", "KEY")
	ct, err := kr.Seal(secret.FromString("value"), ad)
	mustNil(t, err)

	mustNil(t, ks.Save(ctx, plain))
	got, ok, err := ks.Load(ctx)
	if err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	if got.Protected() || !bytes.Equal(got.Plain, plain.Plain) || got.Wrapped != nil || got.Salt != nil {
		t.Errorf("passwordless round trip: protected=%v plain equal=%v", got.Protected(), bytes.Equal(got.Plain, plain.Plain))
	}
	if _, err := keyring.Open(got, secret.Bytes{}); err != nil {
		t.Errorf("loaded passwordless state does not open: %v", err)
	}

	// Set a master password: the wrapped state replaces the plain one.
	wrapped, err := kr.Wrap(secret.FromString("master"), keyring.KDFParams{Time: 2, MemoryKiB: 128, Threads: 2})
	mustNil(t, err)
	mustNil(t, ks.Save(ctx, wrapped))
	got, ok, err = ks.Load(ctx)
	if err != nil || !ok {
		t.Fatalf("Load = %v, %v", ok, err)
	}
	if !got.Protected() || got.Plain != nil || !bytes.Equal(got.Wrapped, wrapped.Wrapped) || !bytes.Equal(got.Salt, wrapped.Salt) || got.KDF != wrapped.KDF {
		t.Errorf("protected round trip = plain %d bytes, KDF %+v; want no plain and %+v", len(got.Plain), got.KDF, wrapped.KDF)
	}
	kr2, err := keyring.Open(got, secret.FromString("master"))
	mustNil(t, err)
	if v, err := kr2.Open(ct, ad); err != nil || string(v.Reveal()) != "value" {
		t.Errorf("data sealed before the password was set: %q, %v", v.Reveal(), err)
	}
	var rows int
	mustNil(t, db.SQL().QueryRow(`SELECT count(*) FROM keyring`).Scan(&rows))
	if rows != 1 {
		t.Errorf("keyring has %d rows, want 1", rows)
	}

	// Removing the password goes back to plain and clears the wrapped columns.
	mustNil(t, ks.Save(ctx, plain))
	got, _, _ = ks.Load(ctx)
	if got.Protected() || got.Wrapped != nil || got.Salt != nil || got.KDF != (keyring.KDFParams{}) || !bytes.Equal(got.Plain, plain.Plain) {
		t.Errorf("after removing the password: wrapped %d bytes, salt %d bytes, KDF %+v, plain equal %v",
			len(got.Wrapped), len(got.Salt), got.KDF, bytes.Equal(got.Plain, plain.Plain))
	}

	// A state with neither form violates the schema and is refused.
	if err := ks.Save(ctx, keyring.State{}); err == nil {
		t.Error("Save accepted an empty keyring state")
	}
	if got, _, _ := ks.Load(ctx); !bytes.Equal(got.Plain, plain.Plain) {
		t.Error("a refused Save changed the stored state")
	}
}

func TestKeyringSaveRollsBackInTx(t *testing.T) {
	db := newDB(t)
	_, st, err := keyring.New(secret.Bytes{}, keyring.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1})
	mustNil(t, err)
	boom := errors.New("boom")
	err = db.InTx(ctx, func(tx store.Store) error {
		mustNil(t, tx.Keyring().Save(ctx, st))
		return boom
	})
	wantErr(t, "InTx", err, boom)
	if _, ok, err := db.Keyring().Load(ctx); ok || err != nil {
		t.Errorf("keyring saved in a rolled-back transaction: ok=%v err=%v", ok, err)
	}
}

func TestPasswordResets(t *testing.T) {
	db := newDB(t)
	createUser(t, db, user("u1", "a@example.com", model.RoleOwner))
	createUser(t, db, user("u2", "b@example.com", model.RoleMember))
	pr := db.PasswordResets()
	mk := func(id, uid string, created time.Time) {
		t.Helper()
		mustNil(t, pr.Create(ctx, model.PasswordReset{ID: id, UserID: uid, CodeHash: []byte(id + "-hash"), CreatedAt: created, ExpiresAt: created.Add(model.PasswordResetTTL)}))
	}
	mk("r1", "u1", t0)
	mk("r2", "u1", t0.Add(time.Minute))
	mk("r3", "u2", t0)
	mk("old", "u1", t0.Add(-time.Hour))
	now := t0.Add(2 * time.Minute)
	got, err := pr.Pending(ctx, "u1", now)
	mustNil(t, err)
	if len(got) != 2 || got[0].ID != "r2" || got[1].ID != "r1" || string(got[0].CodeHash) != "r2-hash" {
		t.Fatalf("pending = %+v, want r2 then r1 (the expired one left out)", got)
	}
	if n, err := pr.CountSince(ctx, "u1", t0.Add(-30*time.Minute)); err != nil || n != 2 {
		t.Errorf("CountSince = %d, %v; want 2", n, err)
	}
	// Wrong codes count against the user's pending codes only.
	for range model.PasswordResetMaxFailures - 1 {
		mustNil(t, pr.Fail(ctx, "u1", now))
	}
	if got, _ := pr.Pending(ctx, "u1", now); len(got) != 2 || got[0].Failures != model.PasswordResetMaxFailures-1 {
		t.Fatalf("after %d failures: %+v", model.PasswordResetMaxFailures-1, got)
	}
	mustNil(t, pr.Fail(ctx, "u1", now))
	if got, _ := pr.Pending(ctx, "u1", now); len(got) != 0 {
		t.Errorf("after %d failures codes are still pending: %+v", model.PasswordResetMaxFailures, got)
	}
	if got, _ := pr.Pending(ctx, "u2", now); len(got) != 1 {
		t.Errorf("another user's code was voided too: %+v", got)
	}
	// Use works once.
	mustNil(t, pr.Use(ctx, "r3", now))
	wantErr(t, "Use twice", pr.Use(ctx, "r3", now), store.ErrNotFound)
	if got, _ := pr.Pending(ctx, "u2", now); len(got) != 0 {
		t.Errorf("a used code is pending: %+v", got)
	}
	// UseAll voids every unused code of one user.
	mk("r4", "u2", now)
	mk("r5", "u1", now)
	mustNil(t, pr.UseAll(ctx, "u2", now))
	if got, _ := pr.Pending(ctx, "u2", now); len(got) != 0 {
		t.Errorf("after UseAll u2 has pending %+v", got)
	}
	if got, _ := pr.Pending(ctx, "u1", now); len(got) != 1 || got[0].ID != "r5" {
		t.Errorf("UseAll of u2 touched u1: %+v", got)
	}
	// Codes are kept an hour after they were made, whatever became of them
	// (the hourly cap counts them), then swept.
	n, err := pr.DeleteCreatedBefore(ctx, t0.Add(-30*time.Minute))
	mustNil(t, err)
	if n != 1 {
		t.Errorf("DeleteCreatedBefore removed %d, want only the hour-old one", n)
	}
	if c, _ := pr.CountSince(ctx, "u1", t0.Add(-time.Minute)); c != 3 {
		t.Errorf("CountSince after the sweep = %d, want 3 (used and voided codes still count)", c)
	}
}
