// Package model holds the entities of Agent Vault, their typed identifiers
// and roles, and the validation of names, keys and emails. It depends on the
// standard library only, so every other package can use it.
package model

import (
	"fmt"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// InstanceRole is an actor's role in the whole instance.
type InstanceRole string

// Instance roles, strongest first.
const (
	RoleOwner    InstanceRole = "owner"
	RoleMember   InstanceRole = "member"
	RoleNoAccess InstanceRole = "no-access"
)

var instanceRank = map[InstanceRole]int{RoleNoAccess: 1, RoleMember: 2, RoleOwner: 3}

// Valid reports whether r is a known instance role.
func (r InstanceRole) Valid() bool { return instanceRank[r] > 0 }

// Satisfies reports whether r is at least min. Unknown roles satisfy nothing.
func (r InstanceRole) Satisfies(min InstanceRole) bool {
	return r.Valid() && min.Valid() && instanceRank[r] >= instanceRank[min]
}

// ParseInstanceRole validates s as an instance role; field names the input.
func ParseInstanceRole(field, s string) (InstanceRole, error) {
	r := InstanceRole(s)
	if !r.Valid() {
		return "", errs.Invalid(field, "%s must be one of: owner, member, no-access (got %q)", field, s)
	}
	return r, nil
}

// VaultRole is an actor's role inside one vault.
type VaultRole string

// Vault roles, strongest first. The empty VaultRole means "no grant".
const (
	VaultAdmin  VaultRole = "admin"
	VaultMember VaultRole = "member"
	VaultProxy  VaultRole = "proxy"
)

var vaultRank = map[VaultRole]int{VaultProxy: 1, VaultMember: 2, VaultAdmin: 3}

// Valid reports whether r is a known vault role.
func (r VaultRole) Valid() bool { return vaultRank[r] > 0 }

// Satisfies reports whether r is at least min. No grant satisfies nothing.
func (r VaultRole) Satisfies(min VaultRole) bool {
	return r.Valid() && min.Valid() && vaultRank[r] >= vaultRank[min]
}

// ParseVaultRole validates s as a vault role; field names the input.
func ParseVaultRole(field, s string) (VaultRole, error) {
	r := VaultRole(s)
	if !r.Valid() {
		return "", errs.Invalid(field, "%s must be one of: admin, member, proxy (got %q)", field, s)
	}
	return r, nil
}

// ParseUserVaultRole validates a vault role for a human user. Users hold
// admin or member; proxy is an agent's role.
func ParseUserVaultRole(field, s string) (VaultRole, error) {
	r := VaultRole(s)
	if r != VaultAdmin && r != VaultMember {
		return "", errs.Invalid(field, "%s must be admin or member for a user (got %q)", field, s)
	}
	return r, nil
}

// ActorKind says whether an actor is a human user or an agent.
type ActorKind string

// Actor kinds.
const (
	ActorUser  ActorKind = "user"
	ActorAgent ActorKind = "agent"
)

// String makes roles print plainly in tables and logs.
func (r InstanceRole) String() string { return string(r) }

// String makes roles print plainly in tables and logs.
func (r VaultRole) String() string { return string(r) }

var _ fmt.Stringer = InstanceRole("")
