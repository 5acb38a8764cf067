package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
)

// deviceLabel names sessions opened through the login form.
const deviceLabel = "web browser"

// loginForm is the login form of a page.
type loginForm struct {
	Action string // where it posts
	Next   string // where to go afterwards (the /login page only)
	CSRF   string
	Email  string
	Error  string
}

// pageData is everything a template may show.
type pageData struct {
	Title      string
	User       string // the logged-in user's email
	IsOwner    bool   // the header links to the instance page
	HeaderCSRF string // the header's logout form
	Notice     string
	Error      string

	// Proposal pages.
	P            *proposalView
	FormAction   string // where the proposal's forms post
	Login        *loginForm
	CanDecide    bool
	CannotDecide string
	CSRF         string
	Applied      []string
	Decided      string // "applied" or "rejected" on a result page
	Reason       string

	// The list page.
	List    []listItem
	Filter  string
	Filters []string

	// The vault pages.
	Vaults []vaultRow
	Vault  *vaultPage

	// The invite page.
	Invite *apitype.InviteDetails

	// A vault sub-page's own data (vaultcommon.go), and the seconds after
	// which the page reloads itself (0: never).
	Page    any
	Refresh int
	// The entry, account, vault administration and instance pages: a
	// *setupView, *accountView, *vaultAdminView, *membersView or
	// *instanceView (admin_views.go).
	Admin any

	// OAuth credentials an approval added, to connect next (oauthconnect.go).
	Connect []connectLink

	// The message page.
	Heading  string
	Body     string
	Link     string
	LinkText string
}

// render writes a page with the header of the viewer's session.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, d *pageData) {
	if s.loggedIn() {
		d.User = s.email()
		d.HeaderCSRF = h.sessionCSRF(s)
		d.IsOwner = s.actor.Role() == model.RoleOwner // a link only: the broker decides
	}
	if d.Notice == "" && d.Error == "" {
		d.Notice = adminFlash(r)
	}
	t := pages()[name]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		h.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(buf.String()))
	}
}

// renderMessage writes a page with a heading and a sentence.
func (h *Handler) renderMessage(w http.ResponseWriter, r *http.Request, status int, heading, body string) {
	h.render(w, r, status, "message", h.currentSession(r), &pageData{Title: heading, Heading: heading, Body: body, Link: "/proposals", LinkText: "Pending proposals"})
}

// ---------------------------------------------------------------------
// The proposal page: /approve/{id}?token=… and /proposals/{id}.

// proposalRef is the proposal a request is about.
type proposalRef struct {
	id    int64
	token string // the approval token; "" on the reviewer's view
}

func (ref proposalRef) path() string { return proposalPath(ref.id, ref.token) }

func parseRef(r *http.Request) (proposalRef, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return proposalRef{}, false
	}
	ref := proposalRef{id: id}
	if strings.HasPrefix(r.URL.Path, "/approve/") {
		ref.token = r.URL.Query().Get("token")
	}
	return ref, true
}

// loadProposal fills d with the proposal as the viewer may see it. A
// reviewer (member+ of the vault) sees it without the token and may
// decide; anyone with the link sees it read-only. It returns a status and
// an error message when nothing can be shown.
func (h *Handler) loadProposal(r *http.Request, s *session, ref proposalRef, d *pageData) (int, string) {
	ctx := r.Context()
	var (
		p       apitype.Proposal
		err     error
		shown   bool
		userErr error
	)
	if s.loggedIn() {
		p, err = h.b.AdminGetProposal(ctx, s.actor, ref.id)
		if err == nil {
			shown, d.CanDecide = true, true
		} else {
			userErr = err
		}
	}
	if !shown && ref.token != "" {
		p, err = h.b.ApprovalDetails(ctx, ref.token, ref.id)
		if err != nil {
			return statusOf(err), message(err)
		}
		shown = true
	}
	if !shown {
		if userErr != nil {
			return statusOf(userErr), message(userErr)
		}
		// Logged out without a token: the login form only.
		d.Title = "Proposal #" + strconv.FormatInt(ref.id, 10)
		d.Login = &loginForm{Action: ref.path()}
		return http.StatusOK, ""
	}
	d.P = newProposalView(p, r.Host)
	d.Title = "Proposal #" + strconv.FormatInt(p.ID, 10) + " · " + p.Vault
	d.FormAction = ref.path()
	if userErr != nil {
		if errs.Is(userErr, errs.KindNotFound) {
			d.CannotDecide = "Your account has no role in vault " + p.Vault + ", so it cannot approve or deny this proposal. A member or admin of that vault must; log out and log in as one."
		} else {
			d.CannotDecide = message(userErr) + " Log out and log in as a member or admin of vault " + p.Vault + "."
		}
	}
	if d.CanDecide && d.P.Pending {
		d.CSRF = h.sessionCSRF(s)
	}
	if !s.loggedIn() && d.P.Pending {
		d.Login = &loginForm{Action: ref.path()}
	}
	return http.StatusOK, ""
}

// showProposal renders the proposal page with an optional error (and the
// login form's state).
func (h *Handler) showProposal(w http.ResponseWriter, r *http.Request, s *session, ref proposalRef, status int, errMsg, email string) {
	d := &pageData{}
	st, msg := h.loadProposal(r, s, ref, d)
	if msg != "" {
		h.render(w, r, st, "message", s, &pageData{Title: "Proposal #" + strconv.FormatInt(ref.id, 10), Heading: "This proposal cannot be shown", Body: msg, Link: "/proposals", LinkText: "Pending proposals"})
		return
	}
	if d.Login != nil {
		d.Login.CSRF = h.loginCSRF(w, r)
		d.Login.Email = email
		if errMsg != "" {
			d.Login.Error = errMsg
			errMsg = ""
		}
	}
	d.Error = errMsg
	h.render(w, r, status, "proposal", s, d)
}

func (h *Handler) approvePage(w http.ResponseWriter, r *http.Request) {
	ref, ok := parseRef(r)
	if !ok {
		h.renderMessage(w, r, http.StatusNotFound, "Not found", "Proposal ids are positive numbers.")
		return
	}
	h.showProposal(w, r, h.currentSession(r), ref, http.StatusOK, "", "")
}

// errExpiredForm is shown when a form's CSRF check fails.
const errExpiredForm = "This form has expired or did not come from this page, so nothing was changed. Check the proposal below and submit again."

func (h *Handler) approvePost(w http.ResponseWriter, r *http.Request) {
	ref, ok := parseRef(r)
	if !ok {
		h.renderMessage(w, r, http.StatusNotFound, "Not found", "Proposal ids are positive numbers.")
		return
	}
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	s := h.currentSession(r)
	switch r.PostFormValue("action") {
	case "login":
		email := r.PostFormValue("email")
		if !h.checkLoginCSRF(r) {
			h.showProposal(w, r, s, ref, http.StatusForbidden, errExpiredForm, email)
			return
		}
		tok, err := h.login(r, email, r.PostFormValue("password"))
		if err != nil {
			h.showProposal(w, r, nil, ref, statusOf(err), message(err), email)
			return
		}
		h.setSession(w, r, tok.Token)
		h.setCookie(w, r, loginCookie, "", -1)
		http.Redirect(w, r, ref.path(), http.StatusSeeOther)
	case "approve", "reject":
		if !s.loggedIn() {
			h.showProposal(w, r, nil, ref, http.StatusUnauthorized, "You are not logged in (or your session ended), so nothing was changed. Log in and decide again.", "")
			return
		}
		if !h.checkSessionCSRF(r, s) {
			h.showProposal(w, r, s, ref, http.StatusForbidden, errExpiredForm, "")
			return
		}
		if r.PostFormValue("action") == "approve" {
			h.approve(w, r, s, ref)
		} else {
			h.reject(w, r, s, ref)
		}
	default:
		h.showProposal(w, r, s, ref, http.StatusBadRequest, "Unknown form action: nothing was changed.", "")
	}
}

// approve applies the proposal with the values typed in. Empty inputs
// leave the agent's value (if any) in place.
func (h *Handler) approve(w http.ResponseWriter, r *http.Request, s *session, ref proposalRef) {
	values := map[string]string{}
	for k, vs := range r.PostForm {
		key, ok := strings.CutPrefix(k, "value.")
		if ok && len(vs) > 0 && vs[0] != "" {
			values[key] = vs[0]
		}
	}
	out, err := h.b.ApproveProposal(r.Context(), s.actor, ref.id, apitype.ApproveProposalRequest{Credentials: values, Diff: r.PostFormValue("diff")})
	clear(values)
	r.PostForm, r.Form = nil, nil
	if err != nil {
		h.showProposal(w, r, s, ref, statusOf(err), decisionMessage(err), "")
		return
	}
	h.render(w, r, http.StatusOK, "result", s, &pageData{
		Title: "Proposal #" + strconv.FormatInt(out.ID, 10) + " approved", Decided: apitype.ProposalApplied,
		Applied: out.Applied, FormAction: ref.path(), P: &proposalView{ID: out.ID, Vault: out.Vault},
		Connect: h.oauthSlotsToConnect(r, s, out.ID, out.Vault),
	})
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request, s *session, ref proposalRef) {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	out, err := h.b.RejectProposal(r.Context(), s.actor, ref.id, apitype.RejectProposalRequest{Reason: reason})
	if err != nil {
		h.showProposal(w, r, s, ref, statusOf(err), decisionMessage(err), "")
		return
	}
	h.render(w, r, http.StatusOK, "result", s, &pageData{
		Title: "Proposal #" + strconv.FormatInt(out.ID, 10) + " rejected", Decided: apitype.ProposalRejected,
		Reason: reason, FormAction: ref.path(), P: &proposalView{ID: out.ID, Vault: out.Vault},
	})
}

// decisionMessage explains a failed approve or reject. The broker answers
// "not found" to a user without a role in the vault, which reads oddly
// under a proposal the link still shows.
func decisionMessage(err error) string {
	if errs.Is(err, errs.KindNotFound) {
		return "Nothing was changed: your account has no role in this proposal's vault (or the proposal is gone). A member or admin of the vault must decide."
	}
	return message(err) + " Nothing was changed."
}

// ---------------------------------------------------------------------
// The list of proposals.

var listFilters = []string{apitype.ProposalPending, apitype.ProposalApplied, apitype.ProposalRejected, apitype.ProposalExpired, apitype.ProposalStatusAll}

func (h *Handler) listPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next=%2Fproposals", http.StatusSeeOther)
		return
	}
	filter := r.URL.Query().Get("status")
	valid := false
	for _, f := range listFilters {
		valid = valid || f == filter
	}
	if !valid {
		filter = apitype.ProposalPending
	}
	status := filter
	if status == apitype.ProposalStatusAll {
		status = ""
	}
	d := &pageData{Title: "Proposals", Filter: filter, Filters: listFilters}
	lf := h.proposalFilters(r, s)
	d.Page = lf
	out, err := h.b.AdminListProposals(r.Context(), s.actor, lf.Vault, status)
	if err != nil {
		d.Error = message(err)
		h.render(w, r, statusOf(err), "list", s, d)
		return
	}
	ps := out.Proposals
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].CreatedAt.After(ps[j].CreatedAt) })
	for _, p := range ps {
		if lf.keep(p) {
			d.List = append(d.List, newListItem(p))
		}
	}
	h.render(w, r, http.StatusOK, "list", s, d)
}

// ---------------------------------------------------------------------
// Login and logout.

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	next := localPath(r.URL.Query().Get("next"), "/proposals")
	d := &pageData{Title: "Log in"}
	if !s.loggedIn() {
		d.Login = &loginForm{Action: "/login", Next: next, CSRF: h.loginCSRF(w, r)}
	}
	h.render(w, r, http.StatusOK, "login", s, d)
}

func (h *Handler) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	next := localPath(r.PostFormValue("next"), "/proposals")
	email := r.PostFormValue("email")
	fail := func(status int, msg string) {
		d := &pageData{Title: "Log in", Login: &loginForm{Action: "/login", Next: next, CSRF: h.loginCSRF(w, r), Email: email, Error: msg}}
		h.render(w, r, status, "login", nil, d)
	}
	if !h.checkLoginCSRF(r) {
		fail(http.StatusForbidden, "This form has expired or did not come from this site. Log in again.")
		return
	}
	tok, err := h.login(r, email, r.PostFormValue("password"))
	if err != nil {
		fail(statusOf(err), message(err))
		return
	}
	h.setSession(w, r, tok.Token)
	h.setCookie(w, r, loginCookie, "", -1)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	d := &pageData{Title: "Log out"}
	if s.loggedIn() {
		d.CSRF = h.sessionCSRF(s)
	}
	h.render(w, r, http.StatusOK, "logout", s, d)
}

func (h *Handler) logoutPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.formError(w, r, err)
		return
	}
	s := h.currentSession(r)
	if s.loggedIn() {
		if !h.checkSessionCSRF(r, s) {
			h.render(w, r, http.StatusForbidden, "logout", s, &pageData{Title: "Log out", CSRF: h.sessionCSRF(s),
				Error: "This form has expired or did not come from this site; you are still logged in. Press the button again to log out."})
			return
		}
		if _, err := h.b.Logout(r.Context(), s.actor); err != nil {
			h.render(w, r, statusOf(err), "logout", s, &pageData{Title: "Log out", CSRF: h.sessionCSRF(s), Error: message(err)})
			return
		}
	}
	h.clearSession(w, r)
	h.render(w, r, http.StatusOK, "message", nil, &pageData{Title: "Logged out", Heading: "You are logged out",
		Body: "Your session has ended on this browser.", Link: "/login", LinkText: "Log in again"})
}
