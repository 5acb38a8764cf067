package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// Vault administration: create and join (forms on /vaults), and the
// settings page /vaults/{name}/settings (rename, unmatched-host policy,
// leave, delete with the vault's name typed as confirmation). The broker
// decides who may do each; the page shows its refusal.

// vaultAdminView is the settings page of one vault.
type vaultAdminView struct {
	CSRF    string
	Name    string
	Role    string
	Policy  string
	NewName string // what was typed into the rename form
}

// vaultsForm is the create form on /vaults, with what was typed.
type vaultsForm struct {
	CSRF, NewName string
}

// adminVaultPath is the page of vault name, with suffix ("/settings", …).
func adminVaultPath(name, suffix string) string { return "/vaults/" + url.PathEscape(name) + suffix }

// vaultsPost creates a vault, or joins one (owners).
func (h *Handler) vaultsPost(w http.ResponseWriter, r *http.Request) {
	typed := func() string { return strings.TrimSpace(r.PostFormValue("name")) }
	s, ok := h.adminPOST(w, r, "/vaults", func(s *session) { h.showVaults(w, r, s, http.StatusForbidden, errFormExpired, typed()) })
	if !ok {
		return
	}
	name := typed()
	switch r.PostFormValue("action") {
	case "create":
		out, err := h.b.CreateVault(r.Context(), s.actor, apitype.CreateVaultRequest{Name: name})
		if err != nil {
			h.refused(r, s, err)
			h.showVaults(w, r, s, statusOf(err), message(err), name)
			return
		}
		redirectAdmin(w, r, adminVaultPath(out.Name, ""), "vault-created")
	case "join":
		if _, err := h.b.JoinVault(r.Context(), s.actor, name); err != nil {
			h.refused(r, s, err)
			h.showVaults(w, r, s, statusOf(err), message(err), "")
			return
		}
		redirectAdmin(w, r, adminVaultPath(name, ""), "vault-joined")
	default:
		h.showVaults(w, r, s, http.StatusBadRequest, "Unknown form action: nothing was changed.", "")
	}
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	name := r.PathValue("name")
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(adminVaultPath(name, "/settings")), http.StatusSeeOther)
		return
	}
	h.showSettings(w, r, s, name, http.StatusOK, "", "")
}

func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request, s *session, name string, status int, errMsg, newName string) {
	v := &vaultAdminView{CSRF: h.sessionCSRF(s), Name: name, NewName: newName}
	d := &pageData{Title: "Settings of vault " + name, Error: errMsg, Admin: v}
	vs, err := h.b.VaultSettings(r.Context(), s.actor, name)
	if err != nil {
		if d.Error == "" {
			d.Error, status = message(err), statusOf(err)
		}
		d.Admin = nil
		h.render(w, r, status, "vaultsettings", s, d)
		return
	}
	v.Policy = vs.UnmatchedHostPolicy
	v.Role = h.roleIn(r, s, name)
	h.render(w, r, status, "vaultsettings", s, d)
}

func (h *Handler) settingsPost(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s, ok := h.adminPOST(w, r, adminVaultPath(name, "/settings"), func(s *session) { h.showSettings(w, r, s, name, http.StatusForbidden, errFormExpired, "") })
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.PostFormValue("action") {
	case "rename":
		newName := strings.TrimSpace(r.PostFormValue("new_name"))
		out, err := h.b.RenameVault(ctx, s.actor, name, apitype.RenameVaultRequest{Name: newName})
		if err != nil {
			h.refused(r, s, err)
			h.showSettings(w, r, s, name, statusOf(err), message(err), newName)
			return
		}
		redirectAdmin(w, r, adminVaultPath(out.NewName, "/settings"), "vault-renamed")
	case "policy":
		_, err := h.b.UpdateVaultSettings(ctx, s.actor, name, apitype.VaultSettings{UnmatchedHostPolicy: r.PostFormValue("unmatched_host_policy")})
		if err != nil {
			h.refused(r, s, err)
			h.showSettings(w, r, s, name, statusOf(err), message(err), "")
			return
		}
		redirectAdmin(w, r, adminVaultPath(name, "/settings"), "policy-saved")
	case "leave":
		if _, err := h.b.LeaveVault(ctx, s.actor, name); err != nil {
			h.refused(r, s, err)
			h.showSettings(w, r, s, name, statusOf(err), message(err), "")
			return
		}
		redirectAdmin(w, r, "/vaults", "vault-left")
	case "delete":
		if r.PostFormValue("confirm") != name {
			h.showSettings(w, r, s, name, http.StatusBadRequest, "Nothing was deleted: type the vault's name exactly ("+name+") to confirm.", "")
			return
		}
		if _, err := h.b.DeleteVault(ctx, s.actor, name); err != nil {
			h.refused(r, s, err)
			h.showSettings(w, r, s, name, statusOf(err), message(err), "")
			return
		}
		redirectAdmin(w, r, "/vaults", "vault-deleted")
	default:
		h.showSettings(w, r, s, name, http.StatusBadRequest, "Unknown form action: nothing was changed.", "")
	}
}
