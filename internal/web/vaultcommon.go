package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/agent-vault/agent-vault/internal/model"
)

// The vault's sub-pages (credentials, services, agents, sessions, request
// log) share this file: the tabs, the logged-in checks of GET and POST,
// and the flash messages shown after an action. Every permission decision
// stays with the broker; the role fetched here only chooses which forms a
// page offers.

// VaultBase is what every vault sub-page shows: the vault, the viewer's
// role in it, the tab, and the CSRF token of its forms.
type VaultBase struct {
	Name, Role, Tab, CSRF string
}

// CanManage reports whether the viewer's role offers the editing forms
// (member or admin); the broker decides whether the action is allowed.
func (v VaultBase) CanManage() bool { return managesVault(v.Role) }

// managesVault reports whether a vault role (as the API spells it) is at
// least member: the roles that edit a vault and review its proposals.
func managesVault(role string) bool { return model.VaultRole(role).Satisfies(model.VaultMember) }

// vaultPath is the URL of a vault's sub-page.
func vaultPath(vault string, parts ...string) string {
	p := "/vaults/" + url.PathEscape(vault)
	for _, x := range parts {
		p += "/" + url.PathEscape(x)
	}
	return p
}

// flashes are the messages a page shows after an action, by id. A
// redirect carries only the id (?done=…), never text, so nothing a
// request supplies is reflected into a page.
var flashes = map[string]string{
	"credential-saved":    "The credential was saved. Its value is stored encrypted and will not be shown again here.",
	"credential-deleted":  "The credential was deleted.",
	"credential-bound":    "The credential's hosts were updated.",
	"service-saved":       "The service was saved.",
	"service-enabled":     "The service was enabled: matching requests are brokered again.",
	"service-disabled":    "The service was disabled: its host is now treated as unmatched.",
	"service-deleted":     "The service was deleted.",
	"services-replaced":   "The services were replaced with the YAML you saved.",
	"agent-revoked":       "The agent was revoked: its token no longer works.",
	"agent-renamed":       "The agent was renamed.",
	"agent-role":          "The agent's role was changed.",
	"agent-removed":       "The agent's access to this vault was removed.",
	"agent-added":         "The agent was given access to this vault.",
	"session-revoked":     "The vault session was revoked.",
	"credential-unbound":  "The host was removed from the credential's binding.",
	"agent-instance-role": "The agent's instance role was changed.",
}

// flash is the message of the ?done= id of r ("" when none or unknown).
func flash(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }

// redirectDone sends the browser to path with a flash message id.
func redirectDone(w http.ResponseWriter, r *http.Request, path, done string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"done="+url.QueryEscape(done), http.StatusSeeOther)
}

// vaultGET resolves a GET of a vault sub-page: it redirects a logged-out
// browser to the login page and returns the session, the page's base and
// whether to go on.
func (h *Handler) vaultGET(w http.ResponseWriter, r *http.Request, tab string) (*session, VaultBase, bool) {
	s := h.currentSession(r)
	name := r.PathValue("name")
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return nil, VaultBase{}, false
	}
	return s, h.vaultBaseOf(r, s, name, tab), true
}

// vaultPOST resolves a POST of a vault sub-page: a readable form, a
// session and a valid CSRF token, else it answers with a page saying
// nothing was changed.
func (h *Handler) vaultPOST(w http.ResponseWriter, r *http.Request, tab string) (*session, VaultBase, bool) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return nil, VaultBase{}, false
	}
	s := h.currentSession(r)
	name := r.PathValue("name")
	back := vaultPath(name, tab)
	if !s.loggedIn() {
		h.render(w, r, http.StatusUnauthorized, "message", nil, &pageData{Title: "Not logged in", Heading: "You are not logged in",
			Body: "Your session ended (or you never logged in), so nothing was changed. Log in and try again.", Link: "/login?next=" + url.QueryEscape(back), LinkText: "Log in"})
		return nil, VaultBase{}, false
	}
	if !h.checkSessionCSRF(r, s) {
		h.render(w, r, http.StatusForbidden, "message", s, &pageData{Title: "Form expired", Heading: "This form has expired",
			Body: "The form did not come from this site's page (or is too old), so nothing was changed. Open the page again and resubmit.", Link: back, LinkText: "Back to the page"})
		return nil, VaultBase{}, false
	}
	return s, h.vaultBaseOf(r, s, name, tab), true
}

// vaultBaseOf fills the base of a page; the role is "" when the viewer
// has none in the vault (the broker's answers then say so).
func (h *Handler) vaultBaseOf(r *http.Request, s *session, name, tab string) VaultBase {
	return VaultBase{Name: name, Tab: tab, CSRF: h.sessionCSRF(s), Role: h.roleIn(r, s, name)}
}

// roleIn is the viewer's role in vault name, "" when they have none. It
// only shapes the page (which forms to show): the broker decides each
// action.
func (h *Handler) roleIn(r *http.Request, s *session, name string) string {
	if vs, err := h.b.ListVaults(r.Context(), s.actor); err == nil {
		for _, v := range vs.Vaults {
			if v.Name == name {
				return v.Role
			}
		}
	}
	return ""
}

// vaultTemplates are the sub-pages, each parsed with the layout and the
// shared parts (the tabs).
var vaultTemplates = []string{
	"vault", "credentials", "credential_reveal", "confirm", "services", "service_form", "services_yaml",
	"catalog", "agents", "token", "sessions", "logs", "oauth_connect", "oauth_go",
}

// addVaultPages parses the vault sub-pages into out.
func addVaultPages(out map[string]*template.Template) {
	funcs := template.FuncMap{
		"css":       func() template.CSS { return template.CSS(styleCSS) },
		"vaultPath": vaultPath,
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/vault_parts.html"))
	for _, name := range vaultTemplates {
		t := template.Must(base.Clone())
		out[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
}

// renderVault renders a sub-page with its data under .Page.
func (h *Handler) renderVault(w http.ResponseWriter, r *http.Request, status int, name string, s *session, title string, data any, errMsg string) {
	d := &pageData{Title: title, Page: data, Error: errMsg}
	if errMsg == "" {
		d.Notice = flash(r)
	}
	h.render(w, r, status, name, s, d)
}
