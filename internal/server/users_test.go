package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

func TestInviteFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	if _, err := own.CreateVault(ctx, "proj"); err != nil {
		t.Fatal(err)
	}
	inv, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "Bob@Example.com", Vaults: []apitype.UserVault{{VaultName: "proj", VaultRole: "member"}}})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "bob@example.com" || inv.Role != "member" || !strings.HasPrefix(inv.InviteLink, "http://vault.test/invite/av_uinv_") {
		t.Fatalf("invite = %+v", inv)
	}
	if got := inv.ExpiresAt.Sub(e.clock.Now()); got != 48*time.Hour {
		t.Errorf("invite lifetime = %s, want 48h", got)
	}
	if _, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "bob@example.com"}); !client.IsConflict(err) {
		t.Fatalf("second pending invite = %v, want 409", err)
	}
	if _, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "owner@example.com"}); !client.IsConflict(err) {
		t.Fatalf("invite of an existing user = %v, want 409", err)
	}
	vu, err := own.VaultUsers(ctx, "proj")
	if err != nil || len(vu.Users) != 2 || vu.Users[1].Status != "pending" {
		t.Fatalf("vault users with pending invite = %+v, %v", vu, err)
	}
	d, err := e.anon().InviteDetails(ctx, inv.Token)
	if err != nil || d.Email != "bob@example.com" || len(d.Vaults) != 1 {
		t.Fatalf("details = %+v, %v", d, err)
	}
	if _, err := e.anon().AcceptInvite(ctx, inv.Token, "short"); status(err) != http.StatusBadRequest {
		t.Fatalf("weak password = %v, want 400", err)
	}
	acc, err := e.anon().AcceptInvite(ctx, inv.Token, "bob-password")
	if err != nil || acc.Email != "bob@example.com" {
		t.Fatalf("accept = %+v, %v", acc, err)
	}
	if _, err := e.anon().AcceptInvite(ctx, inv.Token, "bob-password"); status(err) != http.StatusGone {
		t.Fatalf("second accept = %v, want 410", err)
	}
	tok, err := e.anon().Login(ctx, apitype.Credentials{Email: "bob@example.com", Password: "bob-password"})
	if err != nil {
		t.Fatal(err)
	}
	bv, err := e.as(tok.Token).Vaults(ctx)
	if err != nil || len(bv.Vaults) != 1 || bv.Vaults[0].Name != "proj" || bv.Vaults[0].Role != "member" {
		t.Fatalf("bob's vaults = %+v, %v", bv, err)
	}
	list, err := own.Invites(ctx)
	if err != nil || len(list.Invites) != 1 || list.Invites[0].Status != "accepted" || list.Invites[0].CreatedBy != "owner@example.com" {
		t.Fatalf("invites = %+v, %v", list, err)
	}
}

func TestInviteExpiryAndRevocation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	old, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "late@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(48*time.Hour + time.Second)
	if _, err := e.anon().AcceptInvite(ctx, old.Token, "late-password"); status(err) != http.StatusGone {
		t.Fatalf("expired accept = %v, want 410", err)
	}
	// An expired invite does not block a new one.
	fresh, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "late@example.com"})
	if err != nil {
		t.Fatalf("re-invite after expiry: %v", err)
	}
	list, _ := own.Invites(ctx)
	var id string
	for _, i := range list.Invites {
		if i.Status == "pending" {
			id = i.ID
		}
	}
	if _, err := own.RevokeInvite(ctx, id); err != nil {
		t.Fatalf("revoke by id: %v", err)
	}
	if _, err := e.anon().AcceptInvite(ctx, fresh.Token, "late-password"); status(err) != http.StatusGone {
		t.Fatalf("revoked accept = %v, want 410", err)
	}
	if _, err := own.RevokeInvite(ctx, id); !client.IsConflict(err) {
		t.Fatalf("second revoke = %v, want 409", err)
	}
	if _, err := e.anon().InviteDetails(ctx, "av_uinv_"+strings.Repeat("0", 64)); !client.IsNotFound(err) {
		t.Fatalf("unknown token = %v, want 404", err)
	}
}

func TestInvitePermissions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	if _, err := own.CreateVault(ctx, "proj"); err != nil {
		t.Fatal(err)
	}
	bob := e.invite(own, "bob@example.com", "member")
	if _, err := bob.CreateInvite(ctx, apitype.InviteRequest{Email: "x@example.com", Role: "owner"}); !client.IsForbidden(err) {
		t.Fatalf("member inviting an owner = %v, want 403", err)
	}
	// bob is not in proj: he cannot grant it (404 hides the vault).
	if _, err := bob.CreateInvite(ctx, apitype.InviteRequest{Email: "x@example.com", Vaults: []apitype.UserVault{{VaultName: "proj", VaultRole: "member"}}}); !client.IsNotFound(err) {
		t.Fatalf("granting a foreign vault = %v, want 404", err)
	}
	nobody := e.invite(own, "na@example.com", "no-access")
	if _, err := nobody.CreateInvite(ctx, apitype.InviteRequest{Email: "y@example.com"}); !client.IsForbidden(err) {
		t.Fatalf("no-access inviting = %v, want 403", err)
	}
	if _, err := nobody.CreateVault(ctx, "mine"); !client.IsForbidden(err) {
		t.Fatalf("no-access creating a vault = %v, want 403", err)
	}
	if _, err := bob.AdminSetRole(ctx, "na@example.com", "member"); !client.IsForbidden(err) {
		t.Fatalf("member setting roles = %v, want 403", err)
	}
	if _, err := bob.InstanceSettings(ctx); !client.IsForbidden(err) {
		t.Fatalf("member reading instance settings = %v, want 403", err)
	}
	// Failed invites wrote nothing.
	list, err := own.Invites(ctx)
	if err != nil || len(list.Invites) != 2 {
		t.Fatalf("invites after refusals = %d, %v; want only the 2 accepted", len(list.Invites), err)
	}
	// Owners see users' vaults; promotion makes a user owner.
	us, err := own.Users(ctx)
	if err != nil || len(us.Users) != 3 || len(us.Users[2].Vaults) != 2 || us.Users[2].Email != "owner@example.com" {
		t.Fatalf("users = %+v, %v", us, err)
	}
	if _, err := own.AdminSetRole(ctx, "bob@example.com", "owner"); err != nil {
		t.Fatal(err)
	}
	if d, err := bob.AdminUser(ctx, "me"); err != nil || d.Role != "owner" {
		t.Fatalf("bob after promotion = %+v, %v", d, err)
	}
}
