package server_test

import (
	"context"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

func TestVaultLifecycleAndRoles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	bob := e.invite(own, "bob@example.com", "member")

	v, err := bob.CreateVault(ctx, "bobs-vault")
	if err != nil || v.Name != "bobs-vault" || v.ID == "" {
		t.Fatalf("create = %+v, %v", v, err)
	}
	if _, err := bob.CreateVault(ctx, "bobs-vault"); !client.IsConflict(err) {
		t.Fatalf("duplicate create = %v, want 409", err)
	}
	// Owners see every vault, implicitly; they are not members until they join.
	ov, err := own.Vaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := membership(ov, "bobs-vault"); m != "implicit" {
		t.Fatalf("owner's membership of bobs-vault = %q, want implicit", m)
	}
	if _, err := own.VaultUsers(ctx, "bobs-vault"); !client.IsForbidden(err) {
		t.Fatalf("owner reading members without joining = %v, want 403", err)
	}
	j, err := own.JoinVault(ctx, "bobs-vault")
	if err != nil || !j.Joined || j.Role != "admin" {
		t.Fatalf("join = %+v, %v", j, err)
	}
	if _, err := own.JoinVault(ctx, "bobs-vault"); !client.IsConflict(err) {
		t.Fatalf("second join = %v, want 409", err)
	}
	// A non-member member sees nothing of another's vault.
	carol := e.invite(own, "carol@example.com", "member")
	if _, err := carol.VaultSettings(ctx, "bobs-vault"); !client.IsNotFound(err) {
		t.Fatalf("non-member settings = %v, want 404", err)
	}
	if _, err := bob.JoinVault(ctx, "default"); !client.IsForbidden(err) {
		t.Fatalf("member join = %v, want 403", err)
	}
	// Members of a vault can read settings but not change them.
	if _, err := bob.AddVaultUser(ctx, "bobs-vault", apitype.VaultUserRequest{Email: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	if s, err := carol.VaultSettings(ctx, "bobs-vault"); err != nil || s.UnmatchedHostPolicy != "passthrough" {
		t.Fatalf("member settings = %+v, %v", s, err)
	}
	if _, err := carol.UpdateVaultSettings(ctx, "bobs-vault", apitype.VaultSettings{UnmatchedHostPolicy: "deny"}); !client.IsForbidden(err) {
		t.Fatalf("member changing settings = %v, want 403", err)
	}
	if s, err := bob.UpdateVaultSettings(ctx, "bobs-vault", apitype.VaultSettings{UnmatchedHostPolicy: "deny"}); err != nil || s.UnmatchedHostPolicy != "deny" {
		t.Fatalf("admin settings = %+v, %v", s, err)
	}
	if _, err := carol.RenameVault(ctx, "bobs-vault", "carols"); !client.IsForbidden(err) {
		t.Fatalf("member rename = %v, want 403", err)
	}
	if _, err := carol.DeleteVault(ctx, "bobs-vault"); !client.IsForbidden(err) {
		t.Fatalf("member delete = %v, want 403", err)
	}
	if _, err := carol.AddVaultUser(ctx, "bobs-vault", apitype.VaultUserRequest{Email: "owner@example.com"}); !client.IsForbidden(err) {
		t.Fatalf("member adding users = %v, want 403", err)
	}
	r, err := bob.RenameVault(ctx, "bobs-vault", "renamed")
	if err != nil || r.OldName != "bobs-vault" || r.NewName != "renamed" {
		t.Fatalf("rename = %+v, %v", r, err)
	}
	if _, err := carol.VaultSettings(ctx, "renamed"); err != nil {
		t.Fatalf("grants do not follow a rename: %v", err)
	}
	// Role changes and the last-admin guard.
	if _, err := bob.SetVaultUserRole(ctx, "renamed", "carol@example.com", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.UpdateVaultSettings(ctx, "renamed", apitype.VaultSettings{UnmatchedHostPolicy: "passthrough"}); err != nil {
		t.Fatalf("promoted admin: %v", err)
	}
	if _, err := own.LeaveVault(ctx, "renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.SetVaultUserRole(ctx, "renamed", "bob@example.com", "member"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.SetVaultUserRole(ctx, "renamed", "carol@example.com", "member"); !client.IsConflict(err) {
		t.Fatalf("demoting the last admin = %v, want 409", err)
	}
	if _, err := carol.RemoveVaultUser(ctx, "renamed", "carol@example.com"); !client.IsConflict(err) {
		t.Fatalf("removing the last admin = %v, want 409", err)
	}
	if _, err := carol.LeaveVault(ctx, "renamed"); !client.IsConflict(err) {
		t.Fatalf("last admin leaving = %v, want 409", err)
	}
	if _, err := bob.LeaveVault(ctx, "renamed"); err != nil {
		t.Fatalf("member leaving: %v", err)
	}
	users, err := carol.VaultUsers(ctx, "renamed")
	if err != nil || len(users.Users) != 1 || users.Users[0].Email != "carol@example.com" {
		t.Fatalf("vault users = %+v, %v", users, err)
	}
	// Owners can delete any vault without joining it.
	if _, err := own.DeleteVault(ctx, "renamed"); err != nil {
		t.Fatalf("owner delete: %v", err)
	}
	if _, err := carol.VaultSettings(ctx, "renamed"); !client.IsNotFound(err) {
		t.Fatalf("deleted vault = %v, want 404", err)
	}
}

func TestDefaultVaultIsPermanent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	if _, err := own.DeleteVault(ctx, "default"); !client.IsConflict(err) {
		t.Fatalf("delete default = %v, want 409", err)
	}
	if _, err := own.RenameVault(ctx, "default", "other-name"); !client.IsConflict(err) {
		t.Fatalf("rename default = %v, want 409", err)
	}
	av, err := own.AdminVaults(ctx)
	if err != nil || len(av.Vaults) != 1 || !av.Vaults[0].IsDefault {
		t.Fatalf("admin vaults = %+v, %v", av, err)
	}
	bob := e.invite(own, "bob@example.com", "member")
	if _, err := bob.AdminVaults(ctx); !client.IsForbidden(err) {
		t.Fatalf("member listing all vaults = %v, want 403", err)
	}
}

func membership(l apitype.VaultList, name string) string {
	for _, v := range l.Vaults {
		if v.Name == name {
			return v.Membership
		}
	}
	return ""
}
