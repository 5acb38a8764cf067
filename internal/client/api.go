package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Status reads the instance status.
func (c *Client) Status(ctx context.Context) (out apitype.Status, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/status", nil, &out)
}

// Register creates an account.
func (c *Client) Register(ctx context.Context, in apitype.Credentials) (out apitype.RegisterResponse, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/register", in, &out)
}

// Login opens a session.
func (c *Client) Login(ctx context.Context, in apitype.Credentials) (out apitype.TokenResponse, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/login", in, &out)
}

// ForgotPassword asks for a reset code by email.
func (c *Client) ForgotPassword(ctx context.Context, email string) (out apitype.ForgotPasswordResult, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/forgot-password", apitype.ForgotPasswordRequest{Email: email}, &out)
}

// ResetPassword sets a new password with an emailed code.
func (c *Client) ResetPassword(ctx context.Context, in apitype.ResetPasswordRequest) (out apitype.ResetPasswordResult, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/reset-password", in, &out)
}

// Logout ends the current session.
func (c *Client) Logout(ctx context.Context) (out apitype.StatusOK, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/logout", nil, &out)
}

// Me describes the logged-in actor.
func (c *Client) Me(ctx context.Context) (out apitype.Me, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/auth/me", nil, &out)
}

// ChangePassword changes the password; the answer holds a new session.
func (c *Client) ChangePassword(ctx context.Context, in apitype.ChangePasswordRequest) (out apitype.TokenResponse, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/auth/change-password", in, &out)
}

// DeleteAccount deletes the logged-in account.
func (c *Client) DeleteAccount(ctx context.Context) (out apitype.AccountDeleted, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/auth/account", nil, &out)
}

// Sessions lists the account's sessions.
func (c *Client) Sessions(ctx context.Context) (out apitype.SessionList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/auth/sessions", nil, &out)
}

// RevokeSession ends one session.
func (c *Client) RevokeSession(ctx context.Context, id string) (out apitype.SessionRevoked, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/auth/sessions/"+seg(id), nil, &out)
}

// CreateVault creates a vault.
func (c *Client) CreateVault(ctx context.Context, name string) (out apitype.VaultCreated, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults", apitype.CreateVaultRequest{Name: name}, &out)
}

// Vaults lists the caller's vaults.
func (c *Client) Vaults(ctx context.Context) (out apitype.VaultList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/vaults", nil, &out)
}

// AdminVaults lists every vault (owners).
func (c *Client) AdminVaults(ctx context.Context) (out apitype.AdminVaultList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/admin/vaults", nil, &out)
}

// DeleteVault deletes a vault.
func (c *Client) DeleteVault(ctx context.Context, name string) (out apitype.VaultDeleted, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/vaults/"+seg(name), nil, &out)
}

// RenameVault renames a vault.
func (c *Client) RenameVault(ctx context.Context, name, newName string) (out apitype.VaultRenamed, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(name)+"/rename", apitype.RenameVaultRequest{Name: newName}, &out)
}

// JoinVault joins a vault as admin (owners).
func (c *Client) JoinVault(ctx context.Context, name string) (out apitype.VaultJoined, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(name)+"/join", nil, &out)
}

// LeaveVault leaves a vault.
func (c *Client) LeaveVault(ctx context.Context, name string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(name)+"/leave", nil, &out)
}

// VaultSettings reads a vault's settings.
func (c *Client) VaultSettings(ctx context.Context, name string) (out apitype.VaultSettings, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(name)+"/settings", nil, &out)
}

// UpdateVaultSettings changes a vault's settings.
func (c *Client) UpdateVaultSettings(ctx context.Context, name string, in apitype.VaultSettings) (out apitype.VaultSettings, err error) {
	return out, c.do(ctx, http.MethodPatch, "/v1/vaults/"+seg(name)+"/settings", in, &out)
}

// VaultUsers lists a vault's users and pending invites.
func (c *Client) VaultUsers(ctx context.Context, name string) (out apitype.VaultUserList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/vaults/"+seg(name)+"/users", nil, &out)
}

// AddVaultUser adds an existing user to a vault.
func (c *Client) AddVaultUser(ctx context.Context, name string, in apitype.VaultUserRequest) (out apitype.UserRole, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(name)+"/users", in, &out)
}

// RemoveVaultUser removes a user from a vault.
func (c *Client) RemoveVaultUser(ctx context.Context, name, email string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/vaults/"+seg(name)+"/users/"+seg(email), nil, &out)
}

// SetVaultUserRole changes a user's role in a vault.
func (c *Client) SetVaultUserRole(ctx context.Context, name, email, role string) (out apitype.UserRole, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/vaults/"+seg(name)+"/users/"+seg(email)+"/role", apitype.RoleRequest{Role: role}, &out)
}

// Users lists the instance's users.
func (c *Client) Users(ctx context.Context) (out apitype.UserList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/users", nil, &out)
}

// AdminUser shows one user (owners).
func (c *Client) AdminUser(ctx context.Context, email string) (out apitype.UserDetail, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/admin/users/"+seg(email), nil, &out)
}

// AdminDeleteUser removes a user (owners). The agents they owned are
// handed to the user transferTo, or revoked when it is "".
func (c *Client) AdminDeleteUser(ctx context.Context, email, transferTo string) (out apitype.UserRemoved, err error) {
	p := "/v1/admin/users/" + seg(email)
	if transferTo != "" {
		p += "?" + url.Values{"transfer_agents_to": {transferTo}}.Encode()
	}
	return out, c.do(ctx, http.MethodDelete, p, nil, &out)
}

// AdminSetRole changes a user's instance role (owners).
func (c *Client) AdminSetRole(ctx context.Context, email, role string) (out apitype.UserRole, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/admin/users/"+seg(email)+"/role", apitype.RoleRequest{Role: role}, &out)
}

// CreateInvite invites a user.
func (c *Client) CreateInvite(ctx context.Context, in apitype.InviteRequest) (out apitype.InviteCreated, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/users/invites", in, &out)
}

// Invites lists invites.
func (c *Client) Invites(ctx context.Context) (out apitype.InviteList, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/users/invites", nil, &out)
}

// RevokeInvite revokes an invite by id or token.
func (c *Client) RevokeInvite(ctx context.Context, ref string) (out apitype.MessageResponse, err error) {
	return out, c.do(ctx, http.MethodDelete, "/v1/users/invites/"+seg(ref), nil, &out)
}

// InviteDetails shows what an invite grants.
func (c *Client) InviteDetails(ctx context.Context, tok string) (out apitype.InviteDetails, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/users/invites/"+seg(tok)+"/details", nil, &out)
}

// AcceptInvite accepts an invite, setting the new account's password.
func (c *Client) AcceptInvite(ctx context.Context, tok, password string) (out apitype.InviteAccepted, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/users/invites/"+seg(tok)+"/accept", apitype.AcceptInviteRequest{Password: password}, &out)
}

// InstanceSettings reads instance settings (owners).
func (c *Client) InstanceSettings(ctx context.Context) (out apitype.InstanceSettings, err error) {
	return out, c.do(ctx, http.MethodGet, "/v1/admin/settings", nil, &out)
}

// UpdateInstanceSettings changes instance settings (owners).
func (c *Client) UpdateInstanceSettings(ctx context.Context, in apitype.InstanceSettings) (out apitype.InstanceSettings, err error) {
	return out, c.do(ctx, http.MethodPut, "/v1/admin/settings", in, &out)
}

// EmailTest asks the server to send a test message (owners only); to ""
// sends it to the caller.
func (c *Client) EmailTest(ctx context.Context, to string) (out apitype.EmailTestResult, err error) {
	return out, c.do(ctx, http.MethodPost, "/v1/admin/email/test", apitype.EmailTestRequest{To: to}, &out)
}
