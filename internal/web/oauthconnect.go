package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/broker"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
)

// Connecting an OAuth credential from the console (docs/oauth.md): the
// Connect link of an OAuth row opens a form with the provider settings;
// posting it starts the flow and shows a link to the provider (a form may
// not redirect to another origin under the pages' form-action 'self').
// The provider sends the browser back to /v1/oauth/callback (oauthcallback.go).

// oauthConnectPage is the data of the connect form and of the page that
// links to the provider.
type oauthConnectPage struct {
	VaultBase
	Key         string
	Form        apitype.OAuthConnectRequest
	HasSecret   bool // a client secret is stored: a blank field keeps it
	Connected   bool // the credential holds tokens already
	RedirectURI string
	FieldError  map[string]string
	// The provider page to open, once the flow started.
	ProviderURL  string
	ProviderHost string
}

func (h *Handler) routeOAuthConnect() {
	h.mux.HandleFunc("GET /vaults/{name}/credentials/connect", h.oauthConnectNew)
	h.mux.HandleFunc("GET /vaults/{name}/credentials/{key}/connect", h.oauthConnectForm)
	h.mux.HandleFunc("POST /vaults/{name}/credentials/{key}/connect", h.oauthConnectPost)
	h.mux.HandleFunc("GET "+oauthCallbackPath, h.oauthCallbackPage)
	h.mux.HandleFunc("POST "+oauthCallbackPath, h.oauthCallbackPost)
}

func (h *Handler) oauthConnectForm(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "credentials")
	if !ok {
		return
	}
	key := r.PathValue("key")
	p := &oauthConnectPage{VaultBase: vb, Key: key, RedirectURI: h.b.RedirectURI()}
	in, connected, err := h.b.OAuthConnectDefaults(r.Context(), s.actor, vb.Name, key)
	if err != nil {
		h.renderVault(w, r, statusOf(err), "oauth_connect", s, "Connect "+key+" · "+vb.Name, p, message(err))
		return
	}
	p.Form, p.Connected = in, connected
	p.HasSecret = in.ClientSecret == apitype.OAuthSecretKept
	p.Form.ClientSecret = ""
	if id := r.URL.Query().Get("catalog"); id != "" && p.Form.AuthorizationURL == "" {
		fromCatalog(h.b, id, &p.Form)
	}
	h.renderVault(w, r, http.StatusOK, "oauth_connect", s, "Connect "+key+" · "+vb.Name, p, "")
}

// oauthConnectNew answers the credentials page's "Connect an OAuth
// credential" form (a GET: it changes nothing) with the connect form of
// the key typed, prefilled from the catalog entry chosen.
func (h *Handler) oauthConnectNew(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultGET(w, r, "credentials")
	if !ok {
		return
	}
	key := strings.TrimSpace(r.URL.Query().Get("key"))
	if err := model.ValidateCredentialKey("key", key); err != nil {
		h.showCredentials(w, r, s, vb, http.StatusBadRequest, credentialForm{}, "Type the new OAuth credential's name in capital letters, digits and underscores, like GOOGLE_OAUTH.")
		return
	}
	next := vaultPath(vb.Name, "credentials", key, "connect")
	if id := r.URL.Query().Get("catalog"); id != "" {
		next += "?" + url.Values{"catalog": {id}}.Encode()
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// fromCatalog fills a connect form from a catalog entry's OAuth provider
// (an unknown id, or one without an OAuth block, fills nothing).
func fromCatalog(b *broker.Broker, id string, f *apitype.OAuthConnectRequest) {
	e, err := b.CatalogEntry(id)
	if err != nil || e.OAuth == nil {
		return
	}
	o := e.OAuth
	f.AuthorizationURL = o.AuthorizationURL
	if len(o.AuthorizationParams) > 0 {
		if u, err := url.Parse(o.AuthorizationURL); err == nil {
			q := u.Query()
			for k, v := range o.AuthorizationParams {
				q.Set(k, v)
			}
			u.RawQuery = q.Encode()
			f.AuthorizationURL = u.String()
		}
	}
	f.TokenURL, f.ScopeSeparator, f.TokenAuthMethod = o.TokenURL, o.ScopeSeparator, o.TokenAuthMethod
	sep := o.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	f.Scopes = apitype.ScopeList{Joined: strings.Join(o.Scopes, sep)}
}

// oauthProviders are the catalog's OAuth entries, for the credentials
// page's select.
func oauthProviders(b *broker.Broker) []apitype.CatalogEntry {
	var out []apitype.CatalogEntry
	for _, e := range b.Catalog().Services {
		if e.OAuth != nil {
			out = append(out, e)
		}
	}
	return out
}

func (h *Handler) oauthConnectPost(w http.ResponseWriter, r *http.Request) {
	s, vb, ok := h.vaultPOST(w, r, "credentials")
	if !ok {
		return
	}
	key := r.PathValue("key")
	f := r.PostFormValue
	in := apitype.OAuthConnectRequest{Vault: vb.Name, Key: key, AuthorizationURL: strings.TrimSpace(f("authorization_url")), TokenURL: strings.TrimSpace(f("token_url")),
		ClientID: strings.TrimSpace(f("client_id")), ClientSecret: f("client_secret"), Scopes: apitype.ScopeList{Joined: f("scopes")},
		ScopeSeparator: f("scope_separator"), DisablePKCE: new(f("disable_pkce") == "on"), TokenAuthMethod: f("token_auth_method")}
	hasSecret := f("has_secret") == "1"
	if in.ClientSecret == "" && hasSecret {
		in.ClientSecret = apitype.OAuthSecretKept // a blank field keeps the stored secret
	}
	r.PostForm, r.Form = nil, nil // the secret lives in one variable only
	p := &oauthConnectPage{VaultBase: vb, Key: key, RedirectURI: h.b.RedirectURI(), HasSecret: hasSecret}
	started, err := h.b.StartOAuthConnect(r.Context(), s.actor, in)
	in.ClientSecret = ""
	p.Form = in
	if err != nil {
		if e, ok := errs.As(err); ok && e.Field != "" {
			p.FieldError = map[string]string{e.Field: e.Message}
		}
		h.renderVault(w, r, statusOf(err), "oauth_connect", s, "Connect "+key+" · "+vb.Name, p, message(err)+" Nothing was started; the client secret was not kept, type it again.")
		return
	}
	p.ProviderURL = started.AuthorizationURL
	if u, err := url.Parse(started.AuthorizationURL); err == nil {
		p.ProviderHost = u.Host
	}
	h.renderVault(w, r, http.StatusOK, "oauth_go", s, "Connect "+key+" · "+vb.Name, p, "")
}

// connectLink points at the connect form of an OAuth credential. Paste
// marks a slot that named no authorization URL (the public API's way of
// asking for tokens the person already holds): the page says how to
// upload them.
type connectLink struct {
	Key, Vault, Path string
	Paste            bool
}

// oauthSlotsToConnect lists the OAuth credentials proposal id set, so that
// the approval's result page leads on to connecting them.
func (h *Handler) oauthSlotsToConnect(r *http.Request, s *session, id int64, vault string) []connectLink {
	p, err := h.b.AdminGetProposal(r.Context(), s.actor, id)
	if err != nil {
		return nil
	}
	var out []connectLink
	for _, c := range p.Credentials {
		if c.Action == apitype.ProposalSet && c.Type == "oauth" {
			out = append(out, connectLink{Key: c.Key, Vault: vault, Path: vaultPath(vault, "credentials", c.Key, "connect"),
				Paste: c.OAuth == nil || c.OAuth.AuthorizationURL == ""})
		}
	}
	return out
}
