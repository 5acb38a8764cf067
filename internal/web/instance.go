package web

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
)

// The instance page /instance (owners): settings (invite-only, allowed
// email domains, request log retention, rate limits), users and their
// instance roles, a test email, and every vault with a join button. The
// broker refuses non-owners; the page shows that refusal and nothing else.

// instanceView is the instance page.
type instanceView struct {
	CSRF     string
	Settings settingsForm
	Profiles []string
	Users    []apitype.User
	Vaults   []instanceVault
	TestTo   string
	Invites  []instanceInvite // pending, every vault's and the instance's
	// The invite form: what was typed, and the invitation just made (its
	// link is shown on this answer only).
	InviteEmail, InviteRole string
	Created                 *apitype.InviteCreated
	CreatedExpires          string
}

type instanceInvite struct {
	ID, Email, Role, Vaults, CreatedBy, Expires string
}

// settingsForm is the settings form's fields as text, so that a refused
// form shows what was typed.
type settingsForm struct {
	InviteOnly bool
	Domains    string // one per line
	LogAge     string
	LogRows    string
	AuditDays  string // empty: keep every row of the admin audit trail
	Profile    string
	Overrides  string // KEY=VALUE per line
	Locked     bool
}

type instanceVault struct {
	Name, Created string
	Default       bool
	Joined        bool
}

var rateProfiles = []string{"default", "strict", "loose", "off"}

func (h *Handler) instancePage(w http.ResponseWriter, r *http.Request) {
	s := h.currentSession(r)
	if !s.loggedIn() {
		http.Redirect(w, r, "/login?next=%2Finstance", http.StatusSeeOther)
		return
	}
	h.showInstance(w, r, s, http.StatusOK, "", nil, "")
}

// showInstance renders the page; typed, when set, replaces the stored
// settings in the form.
func (h *Handler) showInstance(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string, typed *settingsForm, testTo string, more ...func(*instanceView)) {
	ctx := r.Context()
	v := &instanceView{CSRF: h.sessionCSRF(s), Profiles: rateProfiles, TestTo: testTo, InviteRole: "member"}
	for _, f := range more {
		f(v)
	}
	d := &pageData{Title: "Instance", Error: errMsg, Admin: v}
	fail := func(err error) {
		if d.Error == "" {
			d.Error, status = message(err), statusOf(err)
		}
		d.Admin = nil
		h.render(w, r, status, "instance", s, d)
	}
	st, err := h.b.GetInstanceSettings(ctx, s.actor)
	if err != nil {
		fail(err)
		return
	}
	v.Settings = formOfSettings(st)
	if typed != nil {
		typed.Locked = v.Settings.Locked
		v.Settings = *typed
	}
	users, err := h.b.ListUsers(ctx, s.actor)
	if err != nil {
		fail(err)
		return
	}
	v.Users = users.Users
	all, err := h.b.AdminListVaults(ctx, s.actor)
	if err != nil {
		fail(err)
		return
	}
	joined := map[string]bool{}
	if mine, err := h.b.ListVaults(ctx, s.actor); err == nil {
		for _, x := range mine.Vaults {
			joined[x.Name] = x.Role != ""
		}
	}
	for _, x := range all.Vaults {
		v.Vaults = append(v.Vaults, instanceVault{Name: x.Name, Created: fmtTime(x.CreatedAt), Default: x.IsDefault, Joined: joined[x.Name]})
	}
	if invs, err := h.b.ListInvites(ctx, s.actor); err == nil {
		for _, inv := range invs.Invites {
			if inv.Status != string(model.InvitePending) {
				continue
			}
			var vs []string
			for _, x := range inv.Vaults {
				vs = append(vs, x.VaultName+" ("+x.VaultRole+")")
			}
			v.Invites = append(v.Invites, instanceInvite{ID: inv.ID, Email: inv.Email, Role: inv.Role, Vaults: strings.Join(vs, ", "),
				CreatedBy: inv.CreatedBy, Expires: fmtTime(inv.ExpiresAt)})
		}
	}
	h.render(w, r, status, "instance", s, d)
}

func formOfSettings(st apitype.InstanceSettings) settingsForm {
	f := settingsForm{Locked: st.RateLimitsLocked}
	if st.InviteOnly != nil {
		f.InviteOnly = *st.InviteOnly
	}
	if st.AllowedEmailDomains != nil {
		f.Domains = strings.Join(*st.AllowedEmailDomains, "\n")
	}
	if st.LogMaxAgeHours != nil {
		f.LogAge = strconv.Itoa(*st.LogMaxAgeHours)
	}
	if st.LogMaxRowsPerVault != nil {
		f.LogRows = strconv.Itoa(*st.LogMaxRowsPerVault)
	}
	if st.AuditRetentionDays != nil {
		f.AuditDays = strconv.Itoa(*st.AuditRetentionDays)
	}
	if st.RateLimitProfile != nil {
		f.Profile = *st.RateLimitProfile
	}
	if st.RateLimitOverrides != nil {
		var lines []string
		for k, val := range *st.RateLimitOverrides {
			lines = append(lines, k+"="+val)
		}
		sort.Strings(lines)
		f.Overrides = strings.Join(lines, "\n")
	}
	return f
}

// splitLines splits a text area into trimmed, non-empty lines (commas
// separate too).
func splitLines(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (h *Handler) instancePost(w http.ResponseWriter, r *http.Request) {
	s, ok := h.adminPOST(w, r, "/instance", func(s *session) { h.showInstance(w, r, s, http.StatusForbidden, errFormExpired, nil, "") })
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.PostFormValue("action") {
	case "settings":
		typed := &settingsForm{
			InviteOnly: r.PostFormValue("invite_only") == "on",
			Domains:    r.PostFormValue("allowed_email_domains"),
			LogAge:     strings.TrimSpace(r.PostFormValue("log_max_age_hours")),
			LogRows:    strings.TrimSpace(r.PostFormValue("log_max_rows_per_vault")),
			AuditDays:  strings.TrimSpace(r.PostFormValue("audit_retention_days")),
			Profile:    r.PostFormValue("rate_limit_profile"),
			Overrides:  r.PostFormValue("rate_limit_overrides"),
		}
		in, msg := typed.request()
		if msg != "" {
			h.showInstance(w, r, s, http.StatusBadRequest, "Nothing was saved: "+msg, typed, "")
			return
		}
		cur, err := h.b.GetInstanceSettings(ctx, s.actor)
		if err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err), typed, "")
			return
		}
		if cur.RateLimitsLocked { // the server's environment owns them: send none
			in.RateLimitProfile, in.RateLimitOverrides = nil, nil
		}
		if _, err := h.b.UpdateInstanceSettings(ctx, s.actor, in); err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err)+" Nothing was saved.", typed, "")
			return
		}
		redirectAdmin(w, r, "/instance", "settings-saved")
	case "user-role":
		if _, err := h.b.AdminSetRole(ctx, s.actor, r.PostFormValue("email"), apitype.RoleRequest{Role: r.PostFormValue("role")}); err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err), nil, "")
			return
		}
		redirectAdmin(w, r, "/instance", "user-role-changed")
	case "delete-user":
		email := r.PostFormValue("email")
		if email == "" || strings.TrimSpace(r.PostFormValue("confirm")) != email {
			h.showInstance(w, r, s, http.StatusBadRequest, "Nobody was removed: type the user's email address again to confirm.", nil, "")
			return
		}
		if _, err := h.b.AdminDeleteUser(ctx, s.actor, email, strings.TrimSpace(r.PostFormValue("transfer_to"))); err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err), nil, "")
			return
		}
		redirectAdmin(w, r, "/instance", "user-removed")
	case "invite":
		email, role := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("role")
		out, err := h.b.CreateInvite(ctx, s.actor, apitype.InviteRequest{Email: email, Role: role})
		if err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err), nil, "", func(v *instanceView) { v.InviteEmail, v.InviteRole = email, role })
			return
		}
		// The link is shown on this answer, never put in a URL.
		h.showInstance(w, r, s, http.StatusOK, "", nil, "", func(v *instanceView) { v.Created, v.CreatedExpires = &out, fmtTime(out.ExpiresAt) })
	case "revoke-invite":
		if _, err := h.b.RevokeInvite(ctx, s.actor, r.PostFormValue("id")); err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err), nil, "")
			return
		}
		redirectAdmin(w, r, "/instance", "invite-revoked")
	case "test-email":
		to := strings.TrimSpace(r.PostFormValue("to"))
		if _, err := h.b.TestEmail(ctx, s.actor, apitype.EmailTestRequest{To: to}); err != nil {
			h.refused(r, s, err)
			h.showInstance(w, r, s, statusOf(err), message(err), nil, to)
			return
		}
		redirectAdmin(w, r, "/instance", "test-email-sent")
	default:
		h.showInstance(w, r, s, http.StatusBadRequest, "Unknown form action: nothing was changed.", nil, "")
	}
}

// request turns the form into the settings request, or says what is wrong.
func (f *settingsForm) request() (apitype.InstanceSettings, string) {
	in := apitype.InstanceSettings{InviteOnly: &f.InviteOnly}
	ds := splitLines(f.Domains)
	in.AllowedEmailDomains = &ds
	for _, x := range []struct {
		text, what string
		dst        **int
	}{{f.LogAge, "request log retention (hours)", &in.LogMaxAgeHours}, {f.LogRows, "rows kept per vault", &in.LogMaxRowsPerVault}} {
		if x.text == "" {
			continue
		}
		n, err := strconv.Atoi(x.text)
		if err != nil {
			return in, x.what + " must be a whole number."
		}
		*x.dst = &n
	}
	days := 0 // empty keeps every row
	if f.AuditDays != "" {
		n, err := strconv.Atoi(f.AuditDays)
		if err != nil {
			return in, "the audit trail retention (days) must be a whole number."
		}
		days = n
	}
	in.AuditRetentionDays = &days
	if f.Profile != "" {
		if !slices.Contains(rateProfiles, f.Profile) {
			return in, "the rate-limit profile must be one of " + strings.Join(rateProfiles, ", ") + "."
		}
		p := f.Profile
		in.RateLimitProfile = &p
	}
	ov := map[string]string{}
	for _, line := range splitLines(f.Overrides) {
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return in, "each rate-limit override is one KEY=VALUE per line (for example PROXY_RATE=50)."
		}
		ov[strings.ToUpper(strings.TrimSpace(k))] = strings.TrimSpace(val)
	}
	in.RateLimitOverrides = &ov
	return in, ""
}
