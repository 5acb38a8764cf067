package web

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/service"
)

// The credentials page: /vaults/{name}/credentials lists a vault's keys
// (never values) with the services that use each and the hosts each may
// be sent to, and takes new values through a write-only field. A value is
// shown only on the reveal page, after the member types their password
// again.

// credentialsPage is the data of the credentials page.
type credentialsPage struct {
	VaultBase
	Rows []credentialListRow
	Form credentialForm
	// OAuthProviders are the catalog's OAuth entries, for the form that
	// connects a new OAuth credential (oauthconnect.go).
	OAuthProviders []apitype.CatalogEntry
}

type credentialListRow struct {
	credentialRow
	UsedBy []string // services whose auth or substitutions send it
}

// credentialForm is the add-or-replace form: what was typed comes back on
// an error, except the value, which is never written into a page.
type credentialForm struct {
	Key, Hosts                      string
	KeyError, ValueError, HostError string
}

func (h *Handler) routeCredentials() {
	h.mux.HandleFunc("GET /vaults/{name}/credentials", h.credentialsGet)
	h.mux.HandleFunc("POST /vaults/{name}/credentials", h.credentialsSet)
	h.mux.HandleFunc("POST /vaults/{name}/credentials/{key}/bind", h.credentialBind)
	h.mux.HandleFunc("POST /vaults/{name}/credentials/{key}/unbind", h.credentialUnbind)
	h.mux.HandleFunc("GET /vaults/{name}/credentials/{key}/delete", h.credentialDeleteConfirm)
	h.mux.HandleFunc("POST /vaults/{name}/credentials/{key}/delete", h.credentialDelete)
	h.mux.HandleFunc("GET /vaults/{name}/credentials/{key}/reveal", h.credentialRevealForm)
	h.mux.HandleFunc("POST /vaults/{name}/credentials/{key}/reveal", h.credentialReveal)
}

// usedBy maps each credential key to the services that reference it.
func usedBy(svcs []apitype.Service) map[string][]string {
	out := map[string][]string{}
	for _, sv := range svcs {
		parsed, err := service.FromAPI(sv, "")
		if err != nil { // stored services always parse
			continue
		}
		for _, k := range parsed.ReferencedKeys() {
			out[k] = append(out[k], sv.Name)
		}
	}
	return out
}

// loadCredentials fills the rows of the page.
func (h *Handler) loadCredentials(ctx context.Context, s *session, p *credentialsPage) error {
	creds, err := h.b.ListCredentials(ctx, s.actor, p.Name, false, "")
	if err != nil {
		return err
	}
	svcs, err := h.b.ListServices(ctx, s.actor, p.Name)
	if err != nil {
		return err
	}
	users := usedBy(svcs.Services)
	for _, c := range creds.Credentials {
		row := credentialListRow{credentialRow: credentialRow{Key: c.Key, Type: c.Type, Updated: fmtTime(c.UpdatedAt), WrittenByAgent: c.WrittenByAgent, OAuthState: oauthState(c)}, UsedBy: users[c.Key]}
		for _, pat := range c.AllowedHosts {
			row.Hosts = append(row.Hosts, boundHost{Pattern: pat, Agent: slices.Contains(c.AgentBoundHosts, pat)})
		}
		p.Rows = append(p.Rows, row)
	}
	return nil
}

func (h *Handler) showCredentials(w http.ResponseWriter, r *http.Request, s *session, vb VaultBase, status int, form credentialForm, errMsg string) {
	p := &credentialsPage{VaultBase: vb, Form: form, OAuthProviders: oauthProviders(h.b)}
	if form.Key == "" {
		p.Form.Key = r.URL.Query().Get("key") // "replace" links prefill the key
	}
	if err := h.loadCredentials(r.Context(), s, p); err != nil {
		if errMsg == "" {
			errMsg, status = message(err), statusOf(err)
		}
		p.Rows = nil
	}
	h.renderVault(w, r, status, "credentials", s, "Credentials · "+vb.Name, p, errMsg)
}

func (h *Handler) credentialsGet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "credentials")
	if !ok {
		return
	}
	h.showCredentials(w, r, s, vb, http.StatusOK, credentialForm{}, "")
}

// splitHosts reads host patterns typed one per line or separated by
// commas or spaces.
func splitHosts(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

func (h *Handler) credentialsSet(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "credentials")
	if !ok {
		return
	}
	form := credentialForm{Key: strings.TrimSpace(r.PostFormValue("key")), Hosts: r.PostFormValue("hosts")}
	value := r.PostFormValue("value")
	r.PostForm, r.Form = nil, nil // the value lives in one variable only
	in := apitype.SetCredentialsRequest{Vault: vb.Name, Credentials: map[string]string{form.Key: value}}
	if hosts := splitHosts(form.Hosts); len(hosts) > 0 {
		in.AllowedHosts = map[string][]string{form.Key: hosts}
	}
	if form.Key == "" {
		form.KeyError = "Type the credential's name, like STRIPE_KEY."
	}
	if value == "" {
		form.ValueError = "Type or paste the value. It is never shown back on this form."
	}
	if form.KeyError != "" || form.ValueError != "" {
		h.showCredentials(w, r, s, vb, http.StatusBadRequest, form, "Nothing was saved: fill in the fields marked below.")
		return
	}
	_, err := h.b.SetCredentials(r.Context(), s.actor, in)
	clear(in.Credentials)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindInvalid {
			switch {
			case strings.HasPrefix(e.Field, "allowed_hosts"):
				form.HostError = e.Message
			case strings.Contains(e.Message, "value"):
				form.ValueError = e.Message
			default:
				form.KeyError = e.Message
			}
		}
		h.showCredentials(w, r, s, vb, statusOf(err), form, message(err)+" Nothing was saved; the value was not kept, type it again.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "credentials"), "credential-saved")
}

func (h *Handler) credentialBind(w http.ResponseWriter, r *http.Request) {
	h.credentialBinding(w, r, true)
}

func (h *Handler) credentialUnbind(w http.ResponseWriter, r *http.Request) {
	h.credentialBinding(w, r, false)
}

func (h *Handler) credentialBinding(w http.ResponseWriter, r *http.Request, bind bool) {
	s, vb, ok := h.vaultPOST(w, r, "credentials")
	if !ok {
		return
	}
	in := apitype.BindCredentialRequest{Vault: vb.Name, Key: r.PathValue("key"), Hosts: splitHosts(r.PostFormValue("host"))}
	var err error
	done := "credential-bound"
	if bind {
		_, err = h.b.BindCredential(r.Context(), s.actor, in)
	} else {
		_, err = h.b.UnbindCredential(r.Context(), s.actor, in)
		done = "credential-unbound"
	}
	if err != nil {
		h.showCredentials(w, r, s, vb, statusOf(err), credentialForm{}, message(err)+" The binding was not changed.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "credentials"), done)
}

// confirmPage is the "are you sure?" page of a destructive action: the
// action happens only when its form is posted.
type confirmPage struct {
	VaultBase
	Heading, Body, Action, Button, Cancel string
	Warnings                              []string
	Typed                                 string // when set, the name that must be typed to confirm
}

func (h *Handler) credentialDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "credentials")
	if !ok {
		return
	}
	key := r.PathValue("key")
	p := &confirmPage{VaultBase: vb, Heading: "Delete credential " + key + "?",
		Body:   "The value is destroyed; agents' requests that needed it will fail until a new value is stored. This cannot be undone.",
		Action: vaultPath(vb.Name, "credentials", key, "delete"), Button: "Delete " + key, Cancel: vaultPath(vb.Name, "credentials")}
	if svcs, err := h.b.ListServices(r.Context(), s.actor, vb.Name); err == nil {
		for _, svc := range usedBy(svcs.Services)[key] {
			p.Warnings = append(p.Warnings, "Service "+svc+" uses "+key+": the deletion will be refused until that service is changed or removed.")
		}
	}
	h.renderVault(w, r, http.StatusOK, "confirm", s, "Delete "+key, p, "")
}

func (h *Handler) credentialDelete(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "credentials")
	if !ok {
		return
	}
	_, err := h.b.DeleteCredentials(r.Context(), s.actor, apitype.DeleteCredentialsRequest{Vault: vb.Name, Keys: []string{r.PathValue("key")}})
	if err != nil {
		h.showCredentials(w, r, s, vb, statusOf(err), credentialForm{}, message(err)+" Nothing was deleted.")
		return
	}
	redirectDone(w, r, vaultPath(vb.Name, "credentials"), "credential-deleted")
}

// revealPage asks for the password, then shows one value.
type revealPage struct {
	VaultBase
	Key   string
	Value string // set only after the password was confirmed
	Shown bool
}

func (h *Handler) credentialRevealForm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "credentials")
	if !ok {
		return
	}
	h.renderVault(w, r, http.StatusOK, "credential_reveal", s, "Reveal "+r.PathValue("key"), &revealPage{VaultBase: vb, Key: r.PathValue("key")}, "")
}

// credentialReveal shows a value after the member types their password
// again. The password check sits behind the address's failed-login budget
// (a wrong one counts as a failed login); the broker then decides whether
// this user may read values (members and admins) and records the read in
// the audit trail where the broker keeps one.
func (h *Handler) credentialReveal(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "credentials")
	if !ok {
		return
	}
	key := r.PathValue("key")
	pw := r.PostFormValue("password")
	r.PostForm, r.Form = nil, nil
	p := &revealPage{VaultBase: vb, Key: key}
	var cred apitype.Credential
	err := h.guarded(r, "wrong passwords", func(ctx context.Context) error {
		var err error
		cred, err = h.b.RevealCredential(ctx, s.actor, vb.Name, key, pw)
		if err != nil && !errs.Is(err, errs.KindUnauthorized) {
			// Only a wrong password is a guess; a refusal after the
			// right one (no role, no such key) costs the budget nothing.
			return errNotAGuess{err}
		}
		return err
	})
	if nag, ok := err.(errNotAGuess); ok {
		err = nag.err
	}
	if err != nil {
		msg := message(err)
		if errs.Is(err, errs.KindUnauthorized) {
			msg = "That password is wrong, so the value was not shown. Type the password you log in with."
		}
		h.renderVault(w, r, statusOf(err), "credential_reveal", s, "Reveal "+key, p, msg)
		return
	}
	p.Value, p.Shown = *cred.Value, true
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	w.Header().Set("Pragma", "no-cache")
	h.renderVault(w, r, http.StatusOK, "credential_reveal", s, "Value of "+key, p, "")
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errNotAGuess wraps an answer that must not be charged to the failed
// guess budget (broker.WrongGuess counts not-found answers, which here
// come after the right password).
type errNotAGuess struct{ err error }

func (e errNotAGuess) Error() string { return e.err.Error() }
