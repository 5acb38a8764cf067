package model

import (
	"fmt"
	"testing"
	"time"
)

func TestParseInstanceRole(t *testing.T) {
	for _, s := range []string{"owner", "member", "no-access"} {
		r, err := ParseInstanceRole("role", s)
		if err != nil || string(r) != s || !r.Valid() {
			t.Errorf("ParseInstanceRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Owner", "admin", "proxy", "noaccess", "no_access", " owner", "owner "} {
		r, err := ParseInstanceRole("role", s)
		if r != "" {
			t.Errorf("ParseInstanceRole(%q) returned role %q with error", s, r)
		}
		checkInvalid(t, err, "role")
	}
}

func TestParseVaultRole(t *testing.T) {
	for _, s := range []string{"admin", "member", "proxy"} {
		r, err := ParseVaultRole("vault_role", s)
		if err != nil || string(r) != s || !r.Valid() {
			t.Errorf("ParseVaultRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Admin", "owner", "no-access", "read"} {
		r, err := ParseVaultRole("vault_role", s)
		if r != "" {
			t.Errorf("ParseVaultRole(%q) returned role %q with error", s, r)
		}
		checkInvalid(t, err, "vault_role")
	}
}

func TestParseUserVaultRole(t *testing.T) {
	for _, s := range []string{"admin", "member"} {
		if r, err := ParseUserVaultRole("role", s); err != nil || string(r) != s {
			t.Errorf("ParseUserVaultRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"proxy", "", "owner", "ADMIN"} {
		r, err := ParseUserVaultRole("role", s)
		if r != "" {
			t.Errorf("ParseUserVaultRole(%q) returned %q", s, r)
		}
		checkInvalid(t, err, "role")
	}
}

func TestInstanceRoleSatisfies(t *testing.T) {
	order := []InstanceRole{RoleNoAccess, RoleMember, RoleOwner}
	for i, r := range order {
		for j, min := range order {
			if got, want := r.Satisfies(min), i >= j; got != want {
				t.Errorf("%s.Satisfies(%s) = %v, want %v", r, min, got, want)
			}
		}
		if r.Satisfies("") || r.Satisfies("root") {
			t.Errorf("%s satisfies an unknown role", r)
		}
		if InstanceRole("").Satisfies(r) || InstanceRole("root").Satisfies(r) {
			t.Errorf("an unknown role satisfies %s", r)
		}
	}
	if InstanceRole("").Valid() {
		t.Error("empty instance role is valid")
	}
}

func TestVaultRoleSatisfies(t *testing.T) {
	order := []VaultRole{VaultProxy, VaultMember, VaultAdmin}
	for i, r := range order {
		for j, min := range order {
			if got, want := r.Satisfies(min), i >= j; got != want {
				t.Errorf("%s.Satisfies(%s) = %v, want %v", r, min, got, want)
			}
		}
		if VaultRole("").Satisfies(r) {
			t.Errorf("no grant satisfies %s", r)
		}
		if r.Satisfies("") {
			t.Errorf("%s satisfies the empty role", r)
		}
	}
	if VaultRole("").Valid() || VaultRole("owner").Valid() {
		t.Error("empty/owner vault role is valid")
	}
}

func TestRolesPrintPlainly(t *testing.T) {
	if got := fmt.Sprint(RoleNoAccess, " ", VaultProxy); got != "no-access proxy" {
		t.Errorf("roles print as %q", got)
	}
}

func TestHostPolicyValid(t *testing.T) {
	if !PolicyPassthrough.Valid() || !PolicyDeny.Valid() {
		t.Error("known policy invalid")
	}
	for _, p := range []HostPolicy{"", "allow", "Deny", "block"} {
		if p.Valid() {
			t.Errorf("HostPolicy(%q) is valid", p)
		}
	}
}

func TestSessionLifetimesMatchSpec(t *testing.T) {
	if SessionAbsoluteTTL != 365*24*time.Hour {
		t.Errorf("SessionAbsoluteTTL = %v, want 1 year", SessionAbsoluteTTL)
	}
	if SessionIdleTTL != 30*24*time.Hour {
		t.Errorf("SessionIdleTTL = %v, want 30 days", SessionIdleTTL)
	}
	if InviteTTL != 48*time.Hour {
		t.Errorf("InviteTTL = %v, want 48 h", InviteTTL)
	}
}

func TestSessionActiveAt(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Session{CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(SessionAbsoluteTTL)}
	if got, want := s.IdleExpiry(), created.Add(30*24*time.Hour); !got.Equal(want) {
		t.Fatalf("IdleExpiry = %v, want %v", got, want)
	}
	cases := []struct {
		name     string
		lastUsed time.Time
		now      time.Time
		want     bool
	}{
		{"fresh", created, created, true},
		{"one ns before idle expiry", created, created.Add(SessionIdleTTL - 1), true},
		{"at idle expiry", created, created.Add(SessionIdleTTL), false},
		{"after idle expiry", created, created.Add(SessionIdleTTL + time.Hour), false},
		{"use slides idle expiry", created.Add(20 * 24 * time.Hour), created.Add(45 * 24 * time.Hour), true},
		{"used daily, one ns before absolute", created.Add(SessionAbsoluteTTL - time.Hour), created.Add(SessionAbsoluteTTL - 1), true},
		{"used daily, at absolute expiry", created.Add(SessionAbsoluteTTL - time.Hour), created.Add(SessionAbsoluteTTL), false},
		{"used daily, past absolute expiry", created.Add(SessionAbsoluteTTL - time.Hour), created.Add(SessionAbsoluteTTL + time.Minute), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := s
			x.LastUsedAt = c.lastUsed
			if got := x.ActiveAt(c.now); got != c.want {
				t.Errorf("ActiveAt = %v, want %v (idle expiry %v)", got, c.want, x.IdleExpiry())
			}
		})
	}
}

func TestSessionActiveAtAcrossZones(t *testing.T) {
	loc := time.FixedZone("UTC+5", 5*3600)
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s := Session{LastUsedAt: created, ExpiresAt: created.Add(time.Hour)}
	// The same instant in another zone is compared as an instant.
	if !s.ActiveAt(created.Add(59 * time.Minute).In(loc)) {
		t.Error("inactive 59 min in, observed from another zone")
	}
	if s.ActiveAt(created.Add(time.Hour).In(loc)) {
		t.Error("active at expiry, observed from another zone")
	}
}

func TestInviteStatusAt(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	exp := created.Add(InviteTTL)
	at := created.Add(time.Hour)
	cases := []struct {
		name     string
		accepted *time.Time
		revoked  *time.Time
		now      time.Time
		want     InviteStatus
	}{
		{"pending", nil, nil, created, InvitePending},
		{"pending one ns before expiry", nil, nil, exp.Add(-1), InvitePending},
		{"expired at expiry", nil, nil, exp, InviteExpired},
		{"expired after", nil, nil, exp.Add(time.Hour), InviteExpired},
		{"accepted", &at, nil, created.Add(2 * time.Hour), InviteAccepted},
		{"accepted stays accepted after expiry", &at, nil, exp.Add(time.Hour), InviteAccepted},
		{"revoked", nil, &at, created.Add(2 * time.Hour), InviteRevoked},
		{"revoked stays revoked after expiry", nil, &at, exp.Add(time.Hour), InviteRevoked},
		{"accepted wins over revoked", &at, &at, created.Add(2 * time.Hour), InviteAccepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := Invite{CreatedAt: created, ExpiresAt: exp, AcceptedAt: c.accepted, RevokedAt: c.revoked}
			if got := inv.StatusAt(c.now); got != c.want {
				t.Errorf("StatusAt = %q, want %q", got, c.want)
			}
		})
	}
}
