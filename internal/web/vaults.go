package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/service"
)

// The vault pages (docs/web.md, "Vaults"):
// read-only views of the vaults a logged-in user is in. No credential
// value is ever rendered: the pages ask the broker for key names only.

// vaultPage is one vault as /vaults/{name} shows it.
type vaultPage struct {
	Name, Role  string
	Services    []serviceRow
	Credentials []credentialRow
	Members     []apitype.VaultUser
	CanReview   bool // member or admin: the proposals list is theirs
	Base        VaultBase
}

type serviceRow struct {
	Name, Host, Auth string
	Keys             []string
	Enabled          bool
	Redact           bool // response redaction (off only when a user turned it off)
}

type credentialRow struct {
	Key, Type, Updated string
	Hosts              []boundHost // the credential's binding
	WrittenByAgent     bool
	OAuthState         string // an OAuth credential's state ("connected, expires …"); never a token
}

// boundHost is one host pattern a credential may be sent to; Agent marks
// one an agent bound for a value it wrote.
type boundHost struct {
	Pattern string
	Agent   bool
}

// vaultRow is one line of /vaults; Joined is false for a vault an owner
// sees without being in it (owners are not implicit members).
type vaultRow struct {
	Name, Role, CreatedAt string
	Joined                bool
}

func (h *Handler) vaultsPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next=%2Fvaults", http.StatusSeeOther)
		return
	}
	h.showVaults(w, r, s, http.StatusOK, "", "")
}

// showVaults renders /vaults with an optional error and what was typed
// into the create form.
func (h *Handler) showVaults(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg, newName string) {
	d := &pageData{Title: "Vaults", Error: errMsg, Admin: &vaultsForm{CSRF: h.sessionCSRF(s), NewName: newName}}
	out, err := h.b.ListVaults(r.Context(), s.actor)
	if err != nil {
		if d.Error == "" {
			d.Error, status = message(err), statusOf(err)
		}
		h.render(w, r, status, "vaults", s, d)
		return
	}
	for _, v := range out.Vaults {
		d.Vaults = append(d.Vaults, vaultRow{Name: v.Name, Role: v.Role, CreatedAt: fmtTime(v.CreatedAt), Joined: v.Role != ""})
	}
	h.render(w, r, status, "vaults", s, d)
}

func (h *Handler) vaultPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	name := r.PathValue("name")
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/vaults/"+name), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	d := &pageData{Title: "Vault " + name}
	fail := func(err error) {
		d.Error = message(err)
		h.render(w, r, statusOf(err), "vault", s, d)
	}
	vs, err := h.b.ListVaults(ctx, s.actor)
	if err != nil {
		fail(err)
		return
	}
	v := &vaultPage{Name: name}
	for _, x := range vs.Vaults {
		if x.Name == name {
			v.Role = x.Role
		}
	}
	svcs, err := h.b.ListServices(ctx, s.actor, name)
	if err != nil {
		fail(err)
		return
	}
	for _, sv := range svcs.Services {
		row := serviceRow{Name: sv.Name, Host: sv.Host, Auth: sv.Auth.Type, Enabled: sv.Enabled == nil || *sv.Enabled,
			Redact: sv.RedactResponses == nil || *sv.RedactResponses}
		if parsed, err := service.FromAPI(sv, ""); err == nil { // stored services always parse
			row.Keys = parsed.Auth.Keys()
		}
		v.Services = append(v.Services, row)
	}
	creds, err := h.b.ListCredentials(ctx, s.actor, name, false, "")
	if err != nil {
		fail(err)
		return
	}
	for _, c := range creds.Credentials {
		row := credentialRow{Key: c.Key, Type: c.Type, Updated: fmtTime(c.UpdatedAt), WrittenByAgent: c.WrittenByAgent, OAuthState: oauthState(c)}
		for _, p := range c.AllowedHosts {
			row.Hosts = append(row.Hosts, boundHost{Pattern: p, Agent: slices.Contains(c.AgentBoundHosts, p)})
		}
		v.Credentials = append(v.Credentials, row)
	}
	members, err := h.b.ListVaultUsers(ctx, s.actor, name)
	if err != nil {
		fail(err)
		return
	}
	v.Members = members.Users
	v.CanReview = managesVault(v.Role)
	v.Base = VaultBase{Name: name, Role: v.Role}
	d.Vault = v
	h.render(w, r, http.StatusOK, "vault", s, d)
}
