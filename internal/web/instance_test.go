package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/broker"
)

func TestInstanceSettings(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	p := b.get("/instance")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="settings-form"`) || !strings.Contains(p.body, ownerEmail) || !strings.Contains(p.body, `id="all-vaults"`) {
		t.Fatalf("instance page: %d\n%s", p.status, p.body)
	}
	form := url.Values{"action": {"settings"}, "allowed_email_domains": {"example.com\ncorp.example"},
		"log_max_age_hours": {"48"}, "log_max_rows_per_vault": {"5000"}, "audit_retention_days": {"400"}, "rate_limit_profile": {"strict"}, "rate_limit_overrides": {"PROXY_RATE=50"}}
	if p := b.form("/instance", form); p.status != http.StatusSeeOther || p.header.Get("Location") != "/instance?done=settings-saved" {
		t.Fatalf("saving: %d\n%s", p.status, p.body)
	}
	st, err := e.b.GetInstanceSettings(context.Background(), e.owner)
	if err != nil {
		t.Fatal(err)
	}
	if st.AuditRetentionDays == nil || *st.AuditRetentionDays != 400 {
		t.Errorf("audit retention: %v", st.AuditRetentionDays)
	}
	if *st.InviteOnly || len(*st.AllowedEmailDomains) != 2 || *st.LogMaxAgeHours != 48 || *st.LogMaxRowsPerVault != 5000 || *st.RateLimitProfile != "strict" || (*st.RateLimitOverrides)["PROXY_RATE"] != "50" {
		t.Errorf("saved settings: invite-only %v domains %v age %d rows %d profile %s overrides %v", *st.InviteOnly, *st.AllowedEmailDomains, *st.LogMaxAgeHours, *st.LogMaxRowsPerVault, *st.RateLimitProfile, *st.RateLimitOverrides)
	}
	// A refused form keeps what was typed.
	form.Set("log_max_age_hours", "forever")
	form.Set("invite_only", "on")
	p = b.form("/instance", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="forever"`) || !strings.Contains(p.body, "Nothing was saved") {
		t.Errorf("a bad number: %d", p.status)
	}
	form.Set("log_max_age_hours", "0")
	if p := b.form("/instance", form); p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="0"`) {
		t.Errorf("an out-of-range retention: %d", p.status)
	}
	if st, _ := e.b.GetInstanceSettings(context.Background(), e.owner); *st.InviteOnly {
		t.Error("a refused form saved part of its settings")
	}
}

func TestInstanceUserRoleAndTestEmail(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("bob@example.com", "bob-pass-1", "", "")
	b := e.as(ownerEmail, ownerPW)
	if p := b.form("/instance", url.Values{"action": {"user-role"}, "email": {"bob@example.com"}, "role": {"owner"}}); p.status != http.StatusSeeOther {
		t.Fatalf("promoting: %d\n%s", p.status, p.body)
	}
	if d, _ := e.b.AdminGetUser(context.Background(), e.owner, "bob@example.com"); d.Role != "owner" {
		t.Fatalf("bob's role = %q", d.Role)
	}
	// No SMTP here: the test email is refused with what to do.
	p := b.form("/instance", url.Values{"action": {"test-email"}, "to": {"someone@example.com"}})
	if p.status < 400 || !strings.Contains(p.body, `value="someone@example.com"`) || !strings.Contains(p.body, "SMTP") {
		t.Errorf("a test email without SMTP: %d\n%s", p.status, p.body)
	}
}

// Members of the instance cannot reach the owners' page or its actions.
func TestInstanceRefusedToMembers(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("mem@example.com", "mem-pass-1", "default", "admin")
	b := e.as("mem@example.com", "mem-pass-1")
	p := b.get("/instance")
	if p.status != http.StatusForbidden || strings.Contains(p.body, `id="settings-form"`) || strings.Contains(p.body, ownerEmail+"</td>") {
		t.Fatalf("a member's GET /instance: %d\n%s", p.status, p.body)
	}
	if strings.Contains(b.get("/vaults").body, `id="nav-instance"`) {
		t.Error("a member's header links to the instance page")
	}
	csrf := b.csrf()
	for _, form := range []url.Values{
		{"action": {"settings"}, "invite_only": {"on"}, "log_max_age_hours": {"1"}},
		{"action": {"user-role"}, "email": {"mem@example.com"}, "role": {"owner"}},
		{"action": {"test-email"}, "to": {"mem@example.com"}},
	} {
		form.Set("csrf", csrf)
		if p := b.post("/instance", form); p.status != http.StatusForbidden {
			t.Errorf("a member's %s: %d", form.Get("action"), p.status)
		}
	}
	if d, _ := e.b.AdminGetUser(context.Background(), e.owner, "mem@example.com"); d.Role != "member" {
		t.Fatal("a member promoted themself to owner")
	}
	if st, _ := e.b.GetInstanceSettings(context.Background(), e.owner); st.LogMaxAgeHours != nil && *st.LogMaxAgeHours == 1 {
		t.Fatal("a member changed the settings")
	}
}

// A refused action of the admin pages reaches the admin audit trail, as a
// refused API request does.
func TestRefusedPageActionsAreInTheTrail(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("mem@example.com", "mem-pass-1", "default", "member")
	b := e.as("mem@example.com", "mem-pass-1")
	if p := b.form("/vaults/default/settings", url.Values{"action": {"delete"}, "confirm": {"default"}}); p.status != http.StatusForbidden {
		t.Fatalf("a member's delete: %d", p.status)
	}
	list, err := e.b.AdminAudit(context.Background(), e.owner, broker.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range list.Events {
		if ev.Action == "request.refused" && ev.Actor == "mem@example.com" && ev.Target == "POST /vaults/{name}/settings (delete)" && ev.Vault == "default" {
			found = true
		}
	}
	if !found {
		t.Errorf("the refused delete is not in the trail: %+v", list.Events)
	}
}

func TestInstanceRemoveUserNeedsTypedEmail(t *testing.T) {
	e := newEnv(t, "")
	e.addUser("gone@example.com", "gone-pass-1", "default", "member")
	b := e.as(ownerEmail, ownerPW)
	if p := b.form("/instance", url.Values{"action": {"delete-user"}, "email": {"gone@example.com"}, "confirm": {"gone@example.co"}}); p.status != http.StatusBadRequest {
		t.Fatalf("a wrong confirmation: %d", p.status)
	}
	if _, err := e.b.AdminGetUser(context.Background(), e.owner, "gone@example.com"); err != nil {
		t.Fatal("a wrong confirmation removed the user")
	}
	if p := b.form("/instance", url.Values{"action": {"delete-user"}, "email": {"gone@example.com"}, "confirm": {"gone@example.com"}}); p.status != http.StatusSeeOther {
		t.Fatalf("removing: %d\n%s", p.status, p.body)
	}
	if _, err := e.b.AdminGetUser(context.Background(), e.owner, "gone@example.com"); err == nil {
		t.Fatal("the user is still there")
	}
	// A member cannot remove anyone.
	e.addUser("mem@example.com", "mem-pass-1", "", "")
	m := e.as("mem@example.com", "mem-pass-1")
	m.get("/account")
	if p := m.post("/instance", url.Values{"csrf": {m.csrf()}, "action": {"delete-user"}, "email": {ownerEmail}, "confirm": {ownerEmail}}); p.status != http.StatusForbidden {
		t.Errorf("a member's removal: %d", p.status)
	}
}

func TestInstanceInvitations(t *testing.T) {
	e := newEnv(t, "")
	b := e.as(ownerEmail, ownerPW)
	p := b.form("/instance", url.Values{"action": {"invite"}, "email": {"bad"}, "role": {"owner"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="bad"`) || !strings.Contains(p.body, `<option value="owner" selected>`) {
		t.Errorf("a bad address: %d (the form keeps what was typed)", p.status)
	}
	p = b.form("/instance", url.Values{"action": {"invite"}, "email": {"boss@example.com"}, "role": {"owner"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="instance-invite-link"`) || !strings.Contains(p.body, "/invite/av_uinv_") {
		t.Fatalf("inviting: %d\n%s", p.status, p.body)
	}
	p = b.get("/instance")
	if !strings.Contains(p.body, "boss@example.com") || strings.Contains(p.body, "av_uinv_") {
		t.Fatal("the pending invitation is missing from the list, or its link shows again")
	}
	invs, _ := e.b.ListInvites(context.Background(), e.owner)
	id := ""
	for _, inv := range invs.Invites {
		if inv.Email == "boss@example.com" && inv.Role == "owner" {
			id = inv.ID
		}
	}
	if id == "" {
		t.Fatalf("no owner invitation: %+v", invs)
	}
	if p := b.form("/instance", url.Values{"action": {"revoke-invite"}, "id": {id}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoking: %d\n%s", p.status, p.body)
	}
	// A member cannot invite an owner.
	e.addUser("mem@example.com", "mem-pass-1", "", "")
	m := e.as("mem@example.com", "mem-pass-1")
	m.get("/account")
	if p := m.post("/instance", url.Values{"csrf": {m.csrf()}, "action": {"invite"}, "email": {"evil@example.com"}, "role": {"owner"}}); p.status != http.StatusForbidden {
		t.Errorf("a member inviting an owner: %d", p.status)
	}
}
