package web

// routeAdmin adds the entry, account, vault administration, members and
// instance pages to the handler's routes.
func (h *Handler) routeAdmin() {
	h.mux.HandleFunc("GET /{$}", h.rootPage)
	h.mux.HandleFunc("GET /setup", h.setupPage)
	h.mux.HandleFunc("POST /setup", h.setupPost)
	h.mux.HandleFunc("GET /register", h.registerPage)
	h.mux.HandleFunc("POST /register", h.registerPost)
	h.mux.HandleFunc("GET /forgot", h.forgotPage)
	h.mux.HandleFunc("POST /forgot", h.forgotPost)
	h.mux.HandleFunc("GET /reset", h.resetPage)
	h.mux.HandleFunc("POST /reset", h.resetPost)
	h.mux.HandleFunc("GET /account", h.accountPage)
	h.mux.HandleFunc("POST /account", h.accountPost)
	h.mux.HandleFunc("POST /vaults", h.vaultsPost)
	h.mux.HandleFunc("GET /vaults/{name}/settings", h.settingsPage)
	h.mux.HandleFunc("POST /vaults/{name}/settings", h.settingsPost)
	h.mux.HandleFunc("GET /vaults/{name}/members", h.membersPage)
	h.mux.HandleFunc("POST /vaults/{name}/members", h.membersPost)
	h.mux.HandleFunc("GET /instance", h.instancePage)
	h.mux.HandleFunc("POST /instance", h.instancePost)
}
