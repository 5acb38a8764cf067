package web

import (
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The agents page: /vaults/{name}/agents lists the agents with a grant in
// the vault and manages them: create (the token shown once, on the answer
// to the form, never again), add an existing agent, change its vault role
// or instance role, rename, rotate (a new token, shown once), revoke, and
// remove the grant. The broker decides every action; an agent's
// instance-wide actions (rename, rotate, revoke, instance role) need the
// right to manage that agent.

// agentsPage is the data of the agents page.
type agentsPage struct {
	VaultBase
	Rows       []agentRow
	Form       agentForm
	VaultRoles []string
	InstRoles  []string
}

type agentRow struct {
	Name, VaultRole, Status, InstanceRole, Owner, Created string
	Revoked, Managed                                      bool // Managed: the instance-wide details are visible to the viewer
}

// agentForm is the create form, kept on an error.
type agentForm struct {
	Name, Role, NameError string
	AddName, AddRole      string
	AddError              string
}

var (
	grantRoles    = []string{"proxy", "member", "admin"}
	instanceRoles = []string{"no-access", "member", "owner"}
)

func (h *Handler) routeAgents() {
	h.mux.HandleFunc("GET /vaults/{name}/agents", h.agentsGet)
	h.mux.HandleFunc("POST /vaults/{name}/agents", h.agentCreate)
	h.mux.HandleFunc("POST /vaults/{name}/agents/add", h.agentAdd)
	h.mux.HandleFunc("POST /vaults/{name}/agents/{agent}/role", h.agentVaultRole)
	h.mux.HandleFunc("POST /vaults/{name}/agents/{agent}/instance-role", h.agentInstanceRole)
	h.mux.HandleFunc("POST /vaults/{name}/agents/{agent}/rename", h.agentRename)
	h.mux.HandleFunc("GET /vaults/{name}/agents/{agent}/{action}", h.agentConfirm)
	h.mux.HandleFunc("POST /vaults/{name}/agents/{agent}/rotate", h.agentRotate)
	h.mux.HandleFunc("POST /vaults/{name}/agents/{agent}/revoke", h.agentRevoke)
	h.mux.HandleFunc("POST /vaults/{name}/agents/{agent}/remove", h.agentRemove)
	h.mux.HandleFunc("GET /vaults/{name}/sessions", h.sessionsGet)
	h.mux.HandleFunc("POST /vaults/{name}/sessions", h.sessionMint)
	h.mux.HandleFunc("GET /vaults/{name}/sessions/{id}/revoke", h.sessionConfirm)
	h.mux.HandleFunc("POST /vaults/{name}/sessions/{id}/revoke", h.sessionRevoke)
}

func (h *Handler) agentsGet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "agents")
	if !ok {
		return
	}
	h.showAgents(w, r, s, vb, http.StatusOK, agentForm{}, "")
}

func (h *Handler) showAgents(w http.ResponseWriter, r *http.Request, s *session, vb VaultBase, status int, form agentForm, errMsg string) {
	p := &agentsPage{VaultBase: vb, Form: form, VaultRoles: grantRoles, InstRoles: instanceRoles}
	if p.Form.Role == "" {
		p.Form.Role = "proxy"
	}
	if p.Form.AddRole == "" {
		p.Form.AddRole = "proxy"
	}
	out, err := h.b.ListVaultAgents(r.Context(), s.actor, vb.Name)
	if err != nil && errMsg == "" {
		errMsg, status = message(err), statusOf(err)
	}
	// The instance-wide view of the agents the viewer manages.
	details := map[string]apitype.Agent{}
	if all, err := h.b.ListAgents(r.Context(), s.actor); err == nil {
		for _, a := range all.Agents {
			details[a.Name] = a
		}
	}
	for _, a := range out.Agents {
		row := agentRow{Name: a.Name, VaultRole: a.VaultRole, Status: a.Status, Revoked: a.Status == "revoked"}
		if d, ok := details[a.Name]; ok {
			row.InstanceRole, row.Owner, row.Created, row.Managed = d.Role, d.Owner, fmtTime(d.CreatedAt), true
		}
		p.Rows = append(p.Rows, row)
	}
	sort.Slice(p.Rows, func(i, j int) bool { return p.Rows[i].Name < p.Rows[j].Name })
	h.renderVault(w, r, status, "agents", s, "Agents · "+vb.Name, p, errMsg)
}

// tokenPage shows a token once, with ready-to-copy snippets.
type tokenPage struct {
	VaultBase
	What, Name, Token, Role, Expires string
	ProxyURL, RunSnippet, EnvSnippet string
	Back                             string
}

// proxyHost is the host agents reach the proxy on: the base URL's, else
// the one this page was asked for.
func (h *Handler) proxyHost(r *http.Request, base string) string {
	host := r.Host
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		host = u.Host
	}
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host
}

// showToken renders a token page. userinfo is the proxy URL's user info
// (token:vault for agents, token for vault sessions).
func (h *Handler) showToken(w http.ResponseWriter, r *http.Request, s *session, p *tokenPage, userinfo string) {
	st, _ := h.b.Status(r.Context())
	addr := st.BaseURL
	if addr == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		addr = scheme + "://" + r.Host
	}
	if st.ProxyPort > 0 {
		p.ProxyURL = "http://" + userinfo + "@" + h.proxyHost(r, st.BaseURL) + ":" + strconv.Itoa(st.ProxyPort)
		p.EnvSnippet = "export HTTPS_PROXY=" + p.ProxyURL + "\nexport HTTP_PROXY=$HTTPS_PROXY\n# and trust the broker's CA: agent-vault ca fetch -o broker-ca.pem"
	}
	p.RunSnippet = "AGENT_VAULT_ADDR=" + addr + " AGENT_VAULT_TOKEN=" + p.Token + " AGENT_VAULT_VAULT=" + p.VaultBase.Name + " agent-vault run -- your-agent"
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	w.Header().Set("Pragma", "no-cache")
	h.renderVault(w, r, http.StatusOK, "token", s, "New "+p.What+" token", p, "")
}

func (h *Handler) agentCreate(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "agents")
	if !ok {
		return
	}
	form := agentForm{Name: strings.TrimSpace(r.PostFormValue("agent")), Role: r.PostFormValue("role")}
	out, err := h.b.CreateAgent(r.Context(), s.actor, apitype.CreateAgentRequest{Name: form.Name,
		Vaults: []apitype.AgentVault{{VaultName: vb.Name, VaultRole: form.Role}}})
	if err != nil {
		form.NameError = message(err)
		h.showAgents(w, r, s, vb, statusOf(err), form, message(err)+" No agent was created.")
		return
	}
	p := &tokenPage{VaultBase: vb, What: "agent", Name: out.Name, Token: out.Token, Role: form.Role, Back: vaultPath(vb.Name, "agents")}
	h.showToken(w, r, s, p, out.Token+":"+vb.Name)
}

func (h *Handler) agentAdd(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "agents")
	if !ok {
		return
	}
	form := agentForm{AddName: strings.TrimSpace(r.PostFormValue("agent")), AddRole: r.PostFormValue("role")}
	if _, err := h.b.AddVaultAgent(r.Context(), s.actor, vb.Name, apitype.VaultAgentRequest{Name: form.AddName, Role: form.AddRole}); err != nil {
		form.AddError = message(err)
		h.showAgents(w, r, s, vb, statusOf(err), form, message(err)+" Nothing was changed.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "agents"), "agent-added")
}

// agentAction runs an action on one agent and goes back to the list with
// the flash message done, or shows the broker's refusal.
func (h *Handler) agentAction(w http.ResponseWriter, r *http.Request, done string, fn func(s *session, vb VaultBase, agent string) error) {
	s, vb, ok := h.vaultPOST(w, r, "agents")
	if !ok {
		return
	}
	if err := fn(s, vb, r.PathValue("agent")); err != nil {
		h.showAgents(w, r, s, vb, statusOf(err), agentForm{}, message(err)+" Nothing was changed.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "agents"), done)
}

func (h *Handler) agentVaultRole(w http.ResponseWriter, r *http.Request) {
	h.agentAction(w, r, "agent-role", func(s *session, vb VaultBase, agent string) error {
		_, err := h.b.SetVaultAgentRole(r.Context(), s.actor, vb.Name, agent, apitype.RoleRequest{Role: r.PostFormValue("role")})
		return err
	})
}

func (h *Handler) agentInstanceRole(w http.ResponseWriter, r *http.Request) {
	h.agentAction(w, r, "agent-instance-role", func(s *session, vb VaultBase, agent string) error {
		_, err := h.b.SetAgentRole(r.Context(), s.actor, agent, apitype.RoleRequest{Role: r.PostFormValue("role")})
		return err
	})
}

func (h *Handler) agentRename(w http.ResponseWriter, r *http.Request) {
	h.agentAction(w, r, "agent-renamed", func(s *session, vb VaultBase, agent string) error {
		_, err := h.b.RenameAgent(r.Context(), s.actor, agent, apitype.RenameVaultRequest{Name: strings.TrimSpace(r.PostFormValue("new_name"))})
		return err
	})
}

func (h *Handler) agentRevoke(w http.ResponseWriter, r *http.Request) {
	h.agentAction(w, r, "agent-revoked", func(s *session, _ VaultBase, agent string) error {
		_, err := h.b.RevokeAgent(r.Context(), s.actor, agent)
		return err
	})
}

func (h *Handler) agentRemove(w http.ResponseWriter, r *http.Request) {
	h.agentAction(w, r, "agent-removed", func(s *session, vb VaultBase, agent string) error {
		_, err := h.b.RemoveVaultAgent(r.Context(), s.actor, vb.Name, agent)
		return err
	})
}

func (h *Handler) agentRotate(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "agents")
	if !ok {
		return
	}
	out, err := h.b.RotateAgent(r.Context(), s.actor, r.PathValue("agent"))
	if err != nil {
		h.showAgents(w, r, s, vb, statusOf(err), agentForm{}, message(err)+" The old token still works.")
		return
	}
	p := &tokenPage{VaultBase: vb, What: "agent", Name: out.Name, Token: out.Token, Back: vaultPath(vb.Name, "agents")}
	h.showToken(w, r, s, p, out.Token+":"+vb.Name)
}

// agentConfirms are the destructive agent actions and what their
// confirmation pages say.
var agentConfirms = map[string]struct{ Heading, Body, Button string }{
	"rotate": {"Rotate the token of %s?", "A new token is made and shown once; the current one stops working at once, so the agent fails until it is given the new one.", "Rotate token"},
	"revoke": {"Revoke agent %s?", "Its token stops working at once, in every vault. This cannot be undone: a revoked agent stays revoked; create a new one if needed.", "Revoke agent"},
	"remove": {"Remove %s from this vault?", "The agent keeps its token and its other vaults, but can no longer use this one.", "Remove from vault"},
}

func (h *Handler) agentConfirm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "agents")
	if !ok {
		return
	}
	agent, action := r.PathValue("agent"), r.PathValue("action")
	c, known := agentConfirms[action]
	if !known {
		h.renderMessage(w, r, http.StatusNotFound, "Not found", "There is no page here for "+r.URL.Path+".")
		return
	}
	p := &confirmPage{VaultBase: vb, Heading: strings.Replace(c.Heading, "%s", agent, 1), Body: c.Body,
		Action: vaultPath(vb.Name, "agents", agent, action), Button: c.Button, Cancel: vaultPath(vb.Name, "agents")}
	h.renderVault(w, r, http.StatusOK, "confirm", s, p.Heading, p, "")
}

// sessionsPage lists a vault's scoped sessions and mints new ones.
type sessionsPage struct {
	VaultBase
	Rows             []scopedSessionRow
	VaultRoles       []string
	Label, Role, TTL string
	TTLs             []string
}

type scopedSessionRow struct {
	ID, Label, Role, CreatedBy, Created, Expires string
}

// sessionTTLs are the lifetimes the mint form offers.
var sessionTTLs = []struct {
	Value string
	D     time.Duration
}{{"1h", time.Hour}, {"8h", 8 * time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}}

func (h *Handler) sessionsGet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "sessions")
	if !ok {
		return
	}
	h.showSessions(w, r, s, vb, http.StatusOK, "")
}

// showSessions renders the sessions page; on an error the mint form keeps
// what was posted.
func (h *Handler) showSessions(w http.ResponseWriter, r *http.Request, s *session, vb VaultBase, status int, errMsg string) {
	p := &sessionsPage{VaultBase: vb, VaultRoles: grantRoles, Role: "proxy", TTL: "24h"}
	if r.Method == http.MethodPost && r.URL.Path == vaultPath(vb.Name, "sessions") {
		p.Label, p.Role, p.TTL = r.PostFormValue("label"), r.PostFormValue("role"), r.PostFormValue("ttl")
	}
	for _, t := range sessionTTLs {
		p.TTLs = append(p.TTLs, t.Value)
	}
	out, err := h.b.ListScopedSessions(r.Context(), s.actor, vb.Name)
	if err != nil && errMsg == "" {
		errMsg, status = message(err), statusOf(err)
	}
	for _, x := range out.Sessions {
		row := scopedSessionRow{ID: x.ID, Label: x.Label, Role: x.VaultRole, Created: fmtTime(x.CreatedAt), Expires: fmtTime(x.ExpiresAt)}
		if x.CreatedBy != nil {
			row.CreatedBy = x.CreatedBy.DisplayName
		}
		p.Rows = append(p.Rows, row)
	}
	h.renderVault(w, r, status, "sessions", s, "Vault sessions · "+vb.Name, p, errMsg)
}

func (h *Handler) sessionMint(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "sessions")
	if !ok {
		return
	}
	ttl := 24 * time.Hour
	for _, t := range sessionTTLs {
		if t.Value == r.PostFormValue("ttl") {
			ttl = t.D
		}
	}
	out, err := h.b.CreateScopedSession(r.Context(), s.actor, apitype.CreateScopedSessionRequest{Vault: vb.Name,
		VaultRole: r.PostFormValue("role"), TTLSeconds: int(ttl.Seconds()), Label: strings.TrimSpace(r.PostFormValue("label"))})
	if err != nil {
		h.showSessions(w, r, s, vb, statusOf(err), message(err)+" No session was made.")
		return
	}
	p := &tokenPage{VaultBase: vb, What: "vault session", Name: vb.Name, Token: out.Token, Role: out.VaultRole, Expires: fmtTime(out.ExpiresAt), Back: vaultPath(vb.Name, "sessions")}
	h.showToken(w, r, s, p, out.Token)
}

func (h *Handler) sessionConfirm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "sessions")
	if !ok {
		return
	}
	id := r.PathValue("id")
	p := &confirmPage{VaultBase: vb, Heading: "Revoke vault session " + id + "?", Body: "Its token stops working at once.",
		Action: vaultPath(vb.Name, "sessions", id, "revoke"), Button: "Revoke session", Cancel: vaultPath(vb.Name, "sessions")}
	h.renderVault(w, r, http.StatusOK, "confirm", s, p.Heading, p, "")
}

func (h *Handler) sessionRevoke(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "sessions")
	if !ok {
		return
	}
	if _, err := h.b.RevokeScopedSession(r.Context(), s.actor, r.PathValue("id")); err != nil {
		h.showSessions(w, r, s, vb, statusOf(err), message(err)+" Nothing was changed.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "sessions"), "session-revoked")
}
