package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// The services pages: /vaults/{name}/services lists a vault's services
// with enable, disable, edit and delete; /services/new and
// /services/{svc}/edit are the form (every auth type and substitutions);
// /services/yaml edits the whole set as YAML; /catalog is the searchable
// catalog whose entries open the form prefilled. Writes go through the
// same broker methods as the API, which validate and authorize.

// servicesPage is the data of the services list.
type servicesPage struct {
	VaultBase
	Rows []serviceListRow
}

type serviceListRow struct {
	Name, Host, Auth string
	Keys             []string
	Subs             int
	Enabled          bool
	Rules            []string // method and path rules, one line each
}

// authTypes are the auth types the form offers, with what each needs.
var authTypes = []struct{ Value, Label string }{
	{"bearer", "Bearer token (Authorization: Bearer <token>)"},
	{"basic", "Basic (Authorization: Basic user:password)"},
	{"api-key", "API key in a header (Header: prefix + key)"},
	{"custom", "Custom headers with {{ KEY }} templates"},
	{"passthrough", "Passthrough (nothing injected; substitutions only)"},
}

// surfaces are the request parts a substitution may apply to.
var surfaces = []string{"path", "query", "header", "body", "websocket"}

// subForm is one substitution row of the form.
type subForm struct {
	Index            int
	Key, Placeholder string
	In               map[string]bool
}

// serviceForm is the service form: what was typed comes back on an error,
// and Errors holds the broker's messages by field path (name, host,
// auth.token, substitutions[0].placeholder, …).
type serviceForm struct {
	VaultBase
	// SvcName is the service's name (Name is the vault's, from VaultBase).
	Orig                                    string // the name being edited; "" for a new service
	SvcName, Host, AuthType                 string
	Token, Username, Password, Key          string
	Header, Prefix, Headers                 string
	Enabled                                 bool
	Subs                                    []subForm
	Errors                                  map[string]string
	Keys                                    []string // existing credential keys, for the datalist
	AuthTypes                               []struct{ Value, Label string }
	Surfaces                                []string
	FromCatalog, CatalogDocs                string
	Methods, PathsAllow, PathsDeny          string
	AllowPlaintext, RedactOff, RulesOffered bool
}

func (h *Handler) routeServices() {
	h.mux.HandleFunc("GET /vaults/{name}/services", h.servicesGet)
	h.mux.HandleFunc("GET /vaults/{name}/services/new", h.serviceNewForm)
	h.mux.HandleFunc("POST /vaults/{name}/services/new", h.serviceSave)
	h.mux.HandleFunc("GET /vaults/{name}/services/yaml", h.servicesYAMLForm)
	h.mux.HandleFunc("POST /vaults/{name}/services/yaml", h.servicesYAMLSave)
	h.mux.HandleFunc("GET /vaults/{name}/services/{svc}/edit", h.serviceEditForm)
	h.mux.HandleFunc("POST /vaults/{name}/services/{svc}/edit", h.serviceSave)
	h.mux.HandleFunc("POST /vaults/{name}/services/{svc}/enable", h.serviceEnable)
	h.mux.HandleFunc("POST /vaults/{name}/services/{svc}/disable", h.serviceDisable)
	h.mux.HandleFunc("GET /vaults/{name}/services/{svc}/delete", h.serviceDeleteConfirm)
	h.mux.HandleFunc("POST /vaults/{name}/services/{svc}/delete", h.serviceDelete)
	h.mux.HandleFunc("GET /vaults/{name}/catalog", h.catalogGet)
}

func (h *Handler) servicesGet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "services")
	if !ok {
		return
	}
	h.showServices(w, r, s, vb, http.StatusOK, "")
}

func (h *Handler) showServices(w http.ResponseWriter, r *http.Request, s *session, vb VaultBase, status int, errMsg string) {
	p := &servicesPage{VaultBase: vb}
	svcs, err := h.b.ListServices(r.Context(), s.actor, vb.Name)
	if err != nil && errMsg == "" {
		errMsg, status = message(err), statusOf(err)
	}
	for _, sv := range svcs.Services {
		row := serviceListRow{Name: sv.Name, Host: sv.Host, Auth: sv.Auth.Type, Enabled: sv.Enabled == nil || *sv.Enabled, Subs: len(sv.Substitutions)}
		if parsed, err := service.FromAPI(sv, ""); err == nil {
			row.Keys = parsed.ReferencedKeys()
		}
		row.Rules = rulesSummary(sv)
		p.Rows = append(p.Rows, row)
	}
	h.renderVault(w, r, status, "services", s, "Services · "+vb.Name, p, errMsg)
}

// newServiceForm is an empty form with the vault's credential keys.
func (h *Handler) newServiceForm(r *http.Request, s *session, vb VaultBase) *serviceForm {
	f := &serviceForm{VaultBase: vb, Enabled: true, AuthType: "bearer", Errors: map[string]string{},
		AuthTypes: authTypes, Surfaces: surfaces, RulesOffered: rulesOffered}
	if creds, err := h.b.ListCredentials(r.Context(), s.actor, vb.Name, false, ""); err == nil {
		f.Keys = creds.Keys
	}
	return f
}

// fill puts a service into the form.
func (f *serviceForm) fill(sv apitype.Service) {
	f.SvcName, f.Host, f.Enabled = sv.Name, sv.Host, sv.Enabled == nil || *sv.Enabled
	a := sv.Auth
	f.AuthType, f.Token, f.Username, f.Password, f.Key, f.Header, f.Prefix = a.Type, a.Token, a.Username, a.Password, a.Key, a.Header, a.Prefix
	var lines []string
	for _, k := range sortedKeys(a.Headers) {
		lines = append(lines, k+": "+a.Headers[k])
	}
	f.Headers = strings.Join(lines, "\n")
	f.Subs = nil
	for _, sub := range sv.Substitutions {
		in := map[string]bool{}
		for _, x := range sub.In {
			in[x] = true
		}
		f.Subs = append(f.Subs, subForm{Key: sub.Key, Placeholder: sub.Placeholder, In: in})
	}
	fillRules(f, sv)
}

// padSubs leaves two empty substitution rows to fill in.
func (f *serviceForm) padSubs() {
	for range 2 {
		f.Subs = append(f.Subs, subForm{In: map[string]bool{}})
	}
	for i := range f.Subs {
		f.Subs[i].Index = i
	}
}

func (h *Handler) serviceNewForm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "services")
	if !ok {
		return
	}
	f := h.newServiceForm(r, s, vb)
	q := r.URL.Query()
	if id := q.Get("catalog"); id != "" {
		e, err := h.b.CatalogEntry(id)
		if err != nil {
			h.renderVault(w, r, statusOf(err), "service_form", s, "Add a service", f.done(), message(err))
			return
		}
		f.fill(apitype.Service{Name: e.ID, Host: e.Host, Auth: e.Auth})
		f.FromCatalog, f.CatalogDocs = e.Name, linkURL(e.DocsURL)
	}
	// A host in the link fills the form only for a host of its own (the
	// log page's "add a service for this host"), never over a catalog
	// entry's: links reach the console from agent-written text too (a
	// proposal's "where to get it"), and a catalog form with the agent's
	// host would send the vault's existing key there on one Save
	// (TestCatalogFormKeepsTheCatalogHost).
	if host := q.Get("host"); host != "" && len(host) <= 300 && f.FromCatalog == "" {
		f.Host = host
		if f.SvcName == "" {
			f.SvcName = slugOf(host)
		}
	}
	h.renderVault(w, r, http.StatusOK, "service_form", s, "Add a service", f.done(), "")
}

// done finishes a form for rendering.
func (f *serviceForm) done() *serviceForm {
	f.padSubs()
	return f
}

// slugOf proposes a service name for a host: its labels without the TLD,
// joined with dashes (api.example.com → api-example).
func slugOf(host string) string {
	host = model.LowerASCII(host)
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	labels := strings.Split(host, ".")
	if len(labels) > 1 {
		labels = labels[:len(labels)-1]
	}
	var b strings.Builder
	for _, c := range strings.Join(labels, "-") {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		}
	}
	out := b.String()
	if len(out) > 60 {
		out = out[:60]
	}
	return strings.Trim(out, "-")
}

func (h *Handler) serviceEditForm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "services")
	if !ok {
		return
	}
	f := h.newServiceForm(r, s, vb)
	svcs, err := h.b.ListServices(r.Context(), s.actor, vb.Name)
	if err != nil {
		h.renderVault(w, r, statusOf(err), "service_form", s, "Edit service", f.done(), message(err))
		return
	}
	name := r.PathValue("svc")
	for _, sv := range svcs.Services {
		if sv.Name == name {
			f.fill(sv)
			f.Orig = name
			h.renderVault(w, r, http.StatusOK, "service_form", s, "Edit service "+name, f.done(), "")
			return
		}
	}
	h.renderVault(w, r, http.StatusNotFound, "service_form", s, "Edit service", f.done(),
		"There is no service named "+name+" in this vault. Pick one from the list of services.")
}

// readServiceForm reads the posted form into f and the service it
// describes. Only the fields of the chosen auth type are kept.
func readServiceForm(r *http.Request, f *serviceForm) apitype.Service {
	pf := r.PostFormValue
	f.SvcName, f.Host = strings.TrimSpace(pf("name")), strings.TrimSpace(pf("host"))
	f.AuthType = pf("auth_type")
	f.Token, f.Username, f.Password, f.Key = strings.TrimSpace(pf("token")), strings.TrimSpace(pf("username")), strings.TrimSpace(pf("password_key")), strings.TrimSpace(pf("key"))
	f.Header, f.Prefix, f.Headers = strings.TrimSpace(pf("header")), pf("prefix"), pf("headers")
	f.Enabled = pf("enabled") == "on"
	sv := apitype.Service{Name: f.SvcName, Host: f.Host, Auth: apitype.ServiceAuth{Type: f.AuthType}}
	if !f.Enabled {
		sv.Enabled = new(bool)
	}
	switch f.AuthType {
	case "bearer":
		sv.Auth.Token = f.Token
	case "basic":
		sv.Auth.Username, sv.Auth.Password = f.Username, f.Password
	case "api-key":
		sv.Auth.Key, sv.Auth.Header, sv.Auth.Prefix = f.Key, f.Header, f.Prefix
	case "custom":
		sv.Auth.Headers = map[string]string{}
		for line := range strings.SplitSeq(f.Headers, "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			name, value, _ := strings.Cut(line, ":")
			sv.Auth.Headers[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	n, _ := strconv.Atoi(pf("subs"))
	n = min(max(n, 0), service.MaxSubstitutions+2)
	for i := range n {
		p := "sub." + strconv.Itoa(i) + "."
		sub := subForm{Key: strings.TrimSpace(pf(p + "key")), Placeholder: pf(p + "placeholder"), In: map[string]bool{}}
		for _, x := range r.PostForm[p+"in"] {
			sub.In[x] = true
		}
		if sub.Key == "" && sub.Placeholder == "" {
			continue
		}
		f.Subs = append(f.Subs, sub)
		as := apitype.Substitution{Key: sub.Key, Placeholder: sub.Placeholder}
		for _, x := range surfaces {
			if sub.In[x] {
				as.In = append(as.In, x)
			}
		}
		sv.Substitutions = append(sv.Substitutions, as)
	}
	readRules(r, f, &sv)
	return sv
}

// fieldOf strips the services[i]. prefix of a broker error's field path.
func fieldOf(e *errs.Error) string {
	f := e.Field
	if strings.HasPrefix(f, "services[") {
		if i := strings.Index(f, "]."); i >= 0 {
			f = f[i+2:]
		}
	}
	// methods[0], paths.deny[2], auth.headers["X-Name"]: the form has one
	// input for each list.
	if !strings.HasPrefix(f, "substitutions") {
		if i := strings.IndexByte(f, '['); i > 0 {
			f = f[:i]
		}
	}
	return f
}

func (h *Handler) serviceSave(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "services")
	if !ok {
		return
	}
	f := h.newServiceForm(r, s, vb)
	f.Orig = r.PathValue("svc")
	sv := readServiceForm(r, f)
	title := "Add a service"
	if f.Orig != "" {
		title = "Edit service " + f.Orig
	}
	fail := func(err error) {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
			f.Errors[fieldOf(e)] = e.Message
		}
		h.renderVault(w, r, statusOf(err), "service_form", s, title, f.done(), message(err)+" Nothing was saved.")
	}
	if _, err := service.FromAPI(sv, ""); err != nil {
		fail(err) // the same validation the broker runs, so the error names the field
		return
	}
	if f.Orig == "" {
		if cur, err := h.b.ListServices(r.Context(), s.actor, vb.Name); err == nil {
			for _, x := range cur.Services {
				if x.Name == sv.Name {
					fail(errs.Invalid("name", "a service named %s already exists: edit it, or pick another name", sv.Name).WithCode("service_exists"))
					return
				}
			}
		}
	}
	var err error
	if f.Orig == "" || f.Orig == sv.Name {
		// Upsert replaces the one service by name, in place, in one
		// transaction: a concurrent change to another service is kept.
		_, err = h.b.UpsertServices(r.Context(), s.actor, vb.Name, apitype.ServiceList{Services: []apitype.Service{sv}})
	} else {
		err = h.replaceOne(r, s, vb.Name, f.Orig, sv)
	}
	if err != nil {
		fail(err)
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "services"), "service-saved")
}

// replaceOne renames: it replaces the service named orig and keeps the
// others and their order (a change another editor made to another
// service between the read and the write is lost; renames are rare).
func (h *Handler) replaceOne(r *http.Request, s *session, vault, orig string, sv apitype.Service) error {
	cur, err := h.b.ListServices(r.Context(), s.actor, vault)
	if err != nil {
		return err
	}
	found := false
	for i := range cur.Services {
		if cur.Services[i].Name == orig {
			cur.Services[i], found = sv, true
		}
	}
	if !found {
		return errs.NotFound("service %s is no longer in vault %q (someone removed it): add it again", orig, vault)
	}
	_, err = h.b.ReplaceServices(r.Context(), s.actor, vault, apitype.ServiceList{Services: cur.Services}, false)
	return err
}

func (h *Handler) serviceEnable(w http.ResponseWriter, r *http.Request) {
	h.servicePatch(w, r, true)
}

func (h *Handler) serviceDisable(w http.ResponseWriter, r *http.Request) {
	h.servicePatch(w, r, false)
}

func (h *Handler) servicePatch(w http.ResponseWriter, r *http.Request, enabled bool) {
	s, vb, ok := h.vaultPOST(w, r, "services")
	if !ok {
		return
	}
	if _, err := h.b.PatchService(r.Context(), s.actor, vb.Name, r.PathValue("svc"), apitype.ServicePatch{Enabled: &enabled}); err != nil {
		h.showServices(w, r, s, vb, statusOf(err), message(err)+" Nothing was changed.")
		return
	}
	done := "service-disabled"
	if enabled {
		done = "service-enabled"
	}
	redirectDone(w, r, vaultPath(vb.Name, "services"), done)
}

func (h *Handler) serviceDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "services")
	if !ok {
		return
	}
	name := r.PathValue("svc")
	p := &confirmPage{VaultBase: vb, Heading: "Delete service " + name + "?",
		Body:   "Agents' requests to its host will no longer get a credential; they are then handled as unmatched hosts (see the vault's settings). Its credentials stay in the vault.",
		Action: vaultPath(vb.Name, "services", name, "delete"), Button: "Delete " + name, Cancel: vaultPath(vb.Name, "services")}
	h.renderVault(w, r, http.StatusOK, "confirm", s, "Delete "+name, p, "")
}

func (h *Handler) serviceDelete(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "services")
	if !ok {
		return
	}
	if _, err := h.b.RemoveService(r.Context(), s.actor, vb.Name, r.PathValue("svc")); err != nil {
		h.showServices(w, r, s, vb, statusOf(err), message(err)+" Nothing was deleted.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "services"), "service-deleted")
}

// catalogPage is the searchable catalog.
type catalogPage struct {
	VaultBase
	Query   string
	Entries []catalogRow
	Total   int
}

type catalogRow struct {
	ID, Name, Description, Host, Auth, Key, Docs string
}

// catalogGet lists the catalog, filtered by ?q= (a plain GET form, so the
// search works without JavaScript).
func (h *Handler) catalogGet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "services")
	if !ok {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 100 {
		q = q[:100]
	}
	p := &catalogPage{VaultBase: vb, Query: q}
	all := h.b.Catalog().Services
	p.Total = len(all)
	needle := strings.ToLower(q)
	for _, e := range all {
		hay := strings.ToLower(e.ID + " " + e.Name + " " + e.Description + " " + e.Host)
		if needle != "" && !strings.Contains(hay, needle) {
			continue
		}
		p.Entries = append(p.Entries, catalogRow{ID: e.ID, Name: e.Name, Description: e.Description, Host: e.Host, Auth: e.Auth.Type, Key: e.CredentialKey, Docs: linkURL(e.DocsURL)})
	}
	sort.SliceStable(p.Entries, func(i, j int) bool { return strings.ToLower(p.Entries[i].Name) < strings.ToLower(p.Entries[j].Name) })
	h.renderVault(w, r, http.StatusOK, "catalog", s, "Service catalog", p, "")
}
