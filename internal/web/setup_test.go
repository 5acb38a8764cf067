package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

func TestRootRedirects(t *testing.T) {
	fresh := newBareEnv(t, testSetupCode, "", nil)
	if p := fresh.browser().get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/setup" {
		t.Errorf("fresh instance: / → %d %q, want /setup", p.status, p.header.Get("Location"))
	}
	noCode := newBareEnv(t, "", "", nil)
	if p := noCode.browser().get("/"); p.header.Get("Location") != "/setup" {
		t.Errorf("fresh instance whose setup code no longer works: / → %q, want the setup page (which says to restart)", p.header.Get("Location"))
	}
	e := newEnv(t, "")
	if p := e.browser().get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next=%2Fvaults" {
		t.Errorf("logged out: / → %d %q", p.status, p.header.Get("Location"))
	}
	if p := e.as(ownerEmail, ownerPW).get("/"); p.header.Get("Location") != "/vaults" {
		t.Errorf("logged in: / → %q, want /vaults", p.header.Get("Location"))
	}
	if p := e.browser().get("/nothing-here"); p.status != http.StatusNotFound {
		t.Errorf("/ must match the root only: /nothing-here → %d", p.status)
	}
}

func TestSetupCreatesTheOwnerThenGoes(t *testing.T) {
	e := newBareEnv(t, testSetupCode, "", nil)
	b := e.browser()
	p := b.get("/setup")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="setup-form"`) {
		t.Fatalf("GET /setup: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, testSetupCode) {
		t.Fatal("the setup page shows the code it asks for")
	}
	// The code is accepted in lower case and without its dashes.
	p = b.post("/setup", url.Values{"csrf": {b.csrf()}, "code": {strings.ToLower(strings.ReplaceAll(testSetupCode, "-", " "))},
		"email": {ownerEmail}, "password": {ownerPW}, "confirm": {ownerPW}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/vaults?done=owner-created" {
		t.Fatalf("POST /setup: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	a, err := e.b.Authenticate(context.Background(), b.cookie(SessionCookie))
	if err != nil || string(a.Role()) != "owner" {
		t.Fatalf("the session after setup: %v, role %q", err, a.Role())
	}
	if p := b.get("/vaults?done=owner-created"); !strings.Contains(p.body, "Your owner account is ready") {
		t.Errorf("no flash after setup:\n%s", p.body)
	}
	// Gone for everyone now, even with the right code.
	other := e.browser()
	if p := other.get("/setup"); p.status != http.StatusNotFound || strings.Contains(p.body, "setup-form") {
		t.Errorf("GET /setup after the owner exists: %d", p.status)
	}
	other.get("/login") // a login CSRF cookie and token
	p = other.post("/setup", url.Values{"csrf": {other.csrf()}, "code": {testSetupCode}, "email": {"mallory@example.com"}, "password": {"mallory-pass-1"}, "confirm": {"mallory-pass-1"}})
	if p.status != http.StatusNotFound {
		t.Errorf("POST /setup after the owner exists: %d", p.status)
	}
	if _, err := e.b.Login(context.Background(), apitype.Credentials{Email: "mallory@example.com", Password: "mallory-pass-1"}); err == nil {
		t.Error("a second setup created an account")
	}
	if p := e.browser().get("/"); p.header.Get("Location") != "/login?next=%2Fvaults" {
		t.Errorf("/ after setup: %q", p.header.Get("Location"))
	}
}

// An attacker who reaches a fresh port guesses codes: each wrong one is
// refused and spends the address's failed-login budget, after which even
// the right code waits.
func TestSetupWrongCodeIsRefusedAndCounted(t *testing.T) {
	e := newBareEnv(t, testSetupCode, "", authLimiter(t, 3))
	b := e.browser()
	b.get("/setup")
	csrf := b.csrf()
	for i, code := range []string{"", "ABCDE-FGHJK-MNPQR-STUVX", testSetupCode + "A"} {
		p := b.post("/setup", url.Values{"csrf": {csrf}, "code": {code}, "email": {"mallory@example.com"}, "password": {"mallory-pass-1"}, "confirm": {"mallory-pass-1"}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "setup code") || !strings.Contains(p.body, "setup-code in the server") {
			t.Fatalf("wrong code %d: %d\n%s", i, p.status, p.body)
		}
		if !strings.Contains(p.body, `value="mallory@example.com"`) || strings.Contains(p.body, "mallory-pass-1") || (code != "" && strings.Contains(p.body, code)) {
			t.Errorf("the refused form must keep the email and drop the password and the code")
		}
	}
	if e.hasAccount() {
		t.Fatal("a wrong setup code created an account")
	}
	p := b.post("/setup", url.Values{"csrf": {csrf}, "code": {testSetupCode}, "email": {ownerEmail}, "password": {ownerPW}, "confirm": {ownerPW}})
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed setup attempts") {
		t.Fatalf("over the budget: %d\n%s", p.status, p.body)
	}
	if e.hasAccount() {
		t.Fatal("an attempt over the budget created an account")
	}
}

func TestSetupRefusesWithoutCSRF(t *testing.T) {
	e := newBareEnv(t, testSetupCode, "", nil)
	b := e.browser()
	b.get("/setup")
	form := url.Values{"code": {testSetupCode}, "email": {ownerEmail}, "password": {ownerPW}, "confirm": {ownerPW}}
	if p := b.post("/setup", form); p.status != http.StatusForbidden {
		t.Errorf("without a CSRF token: %d", p.status)
	}
	form.Set("csrf", b.csrf())
	if p := b.postOrigin("/setup", form, "https://evil.example"); p.status != http.StatusForbidden {
		t.Errorf("from another origin: %d", p.status)
	}
	if e.hasAccount() {
		t.Fatal("a forged setup form created an account")
	}
}

func TestSetupPageOffWithoutCode(t *testing.T) {
	e := newBareEnv(t, "", "", nil)
	b := e.browser()
	if p := b.get("/setup"); p.status != http.StatusNotFound || !strings.Contains(p.body, "Restart the server") {
		t.Errorf("GET /setup without a code: %d\n%s", p.status, p.body)
	}
	b.get("/login")
	// An empty server code must not match an empty typed code.
	if p := b.post("/setup", url.Values{"csrf": {b.csrf()}, "code": {""}, "email": {ownerEmail}, "password": {ownerPW}, "confirm": {ownerPW}}); p.status != http.StatusNotFound {
		t.Errorf("POST /setup without a code: %d", p.status)
	}
	if e.hasAccount() {
		t.Fatal("the page without a code created an account")
	}
}

// /register must not become a way around the setup code: on a fresh
// instance the first account would be the owner.
func TestRegisterCannotClaimAFreshInstance(t *testing.T) {
	e := newBareEnv(t, testSetupCode, "", nil)
	b := e.browser()
	if p := b.get("/register"); p.status != http.StatusSeeOther {
		t.Errorf("GET /register on a fresh instance: %d", p.status)
	}
	b.get("/login")
	p := b.post("/register", url.Values{"csrf": {b.csrf()}, "email": {"mallory@example.com"}, "password": {"mallory-pass-1"}, "confirm": {"mallory-pass-1"}})
	if p.status != http.StatusSeeOther || e.hasAccount() {
		t.Fatalf("POST /register on a fresh instance: %d, account created: %v", p.status, e.hasAccount())
	}
}
