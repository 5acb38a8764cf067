package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
)

// The members page /vaults/{name}/members: who is in the vault, pending
// invitations to it, and forms to invite (the link is shown once, and
// mailed when the server has SMTP), revoke an invitation, change a
// member's role and remove a member. The broker decides who may do what.

// membersView is the members page.
type membersView struct {
	CSRF        string
	Vault       string
	Members     []apitype.VaultUser // active members
	Invites     []inviteRow         // pending invitations to this vault
	InviteEmail string              // what was typed into the invite form
	InviteRole  string
	// Created is the invitation just made: its link is shown on this
	// answer only (the link is a credential; it is not put in a URL).
	Created        *apitype.InviteCreated
	CreatedExpires string
	// ConfirmRemove is the member a remove button asks to confirm.
	ConfirmRemove string
	// Manage offers the forms (the viewer is an admin of the vault). It
	// only chooses what the page shows: the broker decides every action.
	Manage bool
}

type inviteRow struct {
	ID, Email, Role, CreatedBy, Expires string
}

// Roles are the choices of the role selects.
func (v *membersView) Roles() []string { return vaultRoles }

// vaultRoles are the roles a person can hold in a vault.
var vaultRoles = []string{"member", "admin"}

func (h *Handler) membersPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	name := r.PathValue("name")
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(adminVaultPath(name, "/members")), http.StatusSeeOther)
		return
	}
	h.showMembers(w, r, s, name, http.StatusOK, "", &membersView{InviteRole: "member"})
}

func (h *Handler) showMembers(w http.ResponseWriter, r *http.Request, s *session, name string, status int, errMsg string, v *membersView) {
	v.CSRF, v.Vault = h.sessionCSRF(s), name
	d := &pageData{Title: "Members of vault " + name, Error: errMsg, Admin: v}
	users, err := h.b.ListVaultUsers(r.Context(), s.actor, name)
	if err != nil {
		if d.Error == "" {
			d.Error, status = message(err), statusOf(err)
		}
		d.Admin = nil
		h.render(w, r, status, "members", s, d)
		return
	}
	for _, u := range users.Users {
		if u.Status != string(model.InvitePending) {
			v.Members = append(v.Members, u)
		}
	}
	v.Manage = h.roleIn(r, s, name) == string(model.VaultAdmin)
	// Invitations: those this user may see (the broker filters), to this vault.
	if invs, err := h.b.ListInvites(r.Context(), s.actor); err == nil {
		for _, inv := range invs.Invites {
			if inv.Status != string(model.InvitePending) {
				continue
			}
			for _, iv := range inv.Vaults {
				if iv.VaultName == name {
					v.Invites = append(v.Invites, inviteRow{ID: inv.ID, Email: inv.Email, Role: iv.VaultRole, CreatedBy: inv.CreatedBy, Expires: fmtTime(inv.ExpiresAt)})
				}
			}
		}
	}
	h.render(w, r, status, "members", s, d)
}

func (h *Handler) membersPost(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s, ok := h.adminPOST(w, r, adminVaultPath(name, "/members"), func(s *session) {
		h.showMembers(w, r, s, name, http.StatusForbidden, errFormExpired, &membersView{InviteRole: "member"})
	})
	if !ok {
		return
	}
	ctx := r.Context()
	here := adminVaultPath(name, "/members")
	fail := func(err error) {
		h.showMembers(w, r, s, name, statusOf(err), message(err), &membersView{InviteRole: "member"})
	}
	switch r.PostFormValue("action") {
	case "invite":
		email, role := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("role")
		out, err := h.b.CreateInvite(ctx, s.actor, apitype.InviteRequest{Email: email, Vaults: []apitype.UserVault{{VaultName: name, VaultRole: role}}})
		if e, ok := errs.As(err); ok && e.Code == "user_exists" {
			// An account exists: grant the vault directly.
			if _, err := h.b.AddVaultUser(ctx, s.actor, name, apitype.VaultUserRequest{Email: email, Role: role}); err != nil {
				h.refused(r, s, err)
				h.showMembers(w, r, s, name, statusOf(err), message(err), &membersView{InviteEmail: email, InviteRole: role})
				return
			}
			redirectAdmin(w, r, here, "member-added")
			return
		}
		if err != nil {
			h.refused(r, s, err)
			h.showMembers(w, r, s, name, statusOf(err), message(err), &membersView{InviteEmail: email, InviteRole: role})
			return
		}
		// The link is shown on this answer, not behind a redirect: it
		// must not travel in a URL.
		h.showMembers(w, r, s, name, http.StatusOK, "", &membersView{InviteRole: "member", Created: &out, CreatedExpires: fmtTime(out.ExpiresAt)})
	case "revoke-invite":
		if _, err := h.b.RevokeInvite(ctx, s.actor, r.PostFormValue("id")); err != nil {
			h.refused(r, s, err)
			fail(err)
			return
		}
		redirectAdmin(w, r, here, "invite-revoked")
	case "role":
		if _, err := h.b.SetVaultUserRole(ctx, s.actor, name, r.PostFormValue("email"), apitype.RoleRequest{Role: r.PostFormValue("role")}); err != nil {
			h.refused(r, s, err)
			fail(err)
			return
		}
		redirectAdmin(w, r, here, "role-changed")
	case "remove":
		if r.PostFormValue("confirm") != "yes" { // first press: ask
			h.showMembers(w, r, s, name, http.StatusOK, "", &membersView{InviteRole: "member", ConfirmRemove: r.PostFormValue("email")})
			return
		}
		if _, err := h.b.RemoveVaultUser(ctx, s.actor, name, r.PostFormValue("email")); err != nil {
			h.refused(r, s, err)
			fail(err)
			return
		}
		redirectAdmin(w, r, here, "member-removed")
	default:
		h.showMembers(w, r, s, name, http.StatusBadRequest, "Unknown form action: nothing was changed.", &membersView{InviteRole: "member"})
	}
}
