package apitype

import "time"

// CreateVaultRequest is POST /v1/vaults.
type CreateVaultRequest struct {
	Name string `json:"name"`
}

// VaultCreated is the 201 body of POST /v1/vaults.
type VaultCreated struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Vault is one entry of GET /v1/vaults.
type Vault struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       string    `json:"role,omitempty"`
	Membership string    `json:"membership"` // "explicit" (a grant) or "implicit" (owner view)
	CreatedAt  time.Time `json:"created_at"`
}

// VaultList is GET /v1/vaults.
type VaultList struct {
	Vaults []Vault `json:"vaults"`
}

// AdminVault is one entry of GET /v1/admin/vaults.
type AdminVault struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	IsDefault bool      `json:"is_default"`
	CreatedAt time.Time `json:"created_at"`
}

// AdminVaultList is GET /v1/admin/vaults.
type AdminVaultList struct {
	Vaults []AdminVault `json:"vaults"`
}

// VaultDeleted is DELETE /v1/vaults/{name}.
type VaultDeleted struct {
	Name    string `json:"name"`
	Deleted bool   `json:"deleted"`
}

// RenameVaultRequest is POST /v1/vaults/{name}/rename.
type RenameVaultRequest struct {
	Name string `json:"name"`
}

// VaultRenamed answers a rename.
type VaultRenamed struct {
	Message string `json:"message"`
	OldName string `json:"old_name"`
	NewName string `json:"new_name"`
}

// VaultJoined answers POST /v1/vaults/{name}/join.
type VaultJoined struct {
	Vault  string `json:"vault"`
	Role   string `json:"role"`
	Joined bool   `json:"joined"`
}

// VaultSettings is GET|PATCH /v1/vaults/{name}/settings.
type VaultSettings struct {
	UnmatchedHostPolicy string `json:"unmatched_host_policy"`
}

// VaultUser is one entry of GET /v1/vaults/{name}/users.
type VaultUser struct {
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"` // active, or pending for an invite
}

// VaultUserList is GET /v1/vaults/{name}/users.
type VaultUserList struct {
	Users []VaultUser `json:"users"`
}

// VaultUserRequest is POST /v1/vaults/{name}/users.
type VaultUserRequest struct {
	Email string `json:"email"`
	Role  string `json:"role,omitempty"`
}

// RoleRequest sets a role.
type RoleRequest struct {
	Role string `json:"role"`
}

// UserRole answers a role change or a vault user add.
type UserRole struct {
	Email   string `json:"email"`
	Role    string `json:"role"`
	Message string `json:"message,omitempty"`
}
