package e2e

// Email verification of self-registration (docs/operations.md): with
// SMTP set, registering creates no account until the emailed code is
// verified; the answer is the same for every address.

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var verifyCodeRE = regexp.MustCompile(`verification code: (\d{6})`)

func TestCompatEmailVerification(t *testing.T) {
	t.Parallel()
	box := emStartInbox(t)
	s, owner, _ := compatOwner(t, false, "AGENT_VAULT_SMTP_HOST=127.0.0.1", "AGENT_VAULT_SMTP_PORT="+strconv.Itoa(box.port),
		"AGENT_VAULT_SMTP_TLS_MODE=none", "AGENT_VAULT_SMTP_FROM=vault@example.test")
	owner.ok("", "owner", "settings", "set", "--invite-only=false")
	if g := jsonObject(t, "settings", call(t, http.MethodGet, s.url+"/v1/admin/settings", owner.token(), nil), http.StatusOK); g["smtp_configured"] != true {
		t.Errorf("smtp_configured = %v with SMTP set", g["smtp_configured"])
	}

	// Registering an address that has an account and a new one: the same
	// answer, field for field.
	reg := func(email, pw string) map[string]any {
		return jsonObject(t, "register "+email, call(t, http.MethodPost, s.url+"/v1/auth/register", "", map[string]any{"email": email, "password": pw}), http.StatusCreated)
	}
	taken := reg("owner@example.com", "attacker-pass-1")
	fresh := reg("erin@example.com", "erin-pass-1234")
	delete(taken, "email")
	delete(fresh, "email")
	if string(mustJSON(t, taken)) != string(mustJSON(t, fresh)) {
		t.Errorf("register answers differ:\n existing %v\n new      %v", taken, fresh)
	}
	if fresh["requires_verification"] != true || fresh["authenticated"] != false || fresh["token"] != nil {
		t.Errorf("register with SMTP = %v, want requires_verification and no session", fresh)
	}
	// The owner's password did not change, and no mail went to the owner.
	owner.ok("owner-pass-123\n", "auth", "login", "--email", "owner@example.com", "--password-stdin")

	// Not verified: no account, so no login.
	login := call(t, http.MethodPost, s.url+"/v1/auth/login", "", map[string]any{"email": "erin@example.com", "password": "erin-pass-1234"})
	if login.status != http.StatusUnauthorized {
		t.Errorf("login before verification: %s, want 401", login)
	}

	msg := box.waitFor(t, "erin@example.com", "verification code")
	m := verifyCodeRE.FindStringSubmatch(msg.Body)
	if m == nil {
		t.Fatalf("no code in the verification mail:\n%s", msg.Body)
	}
	code := m[1]

	// Someone else registers erin's address meanwhile with their own
	// password: it neither blocks erin nor chooses her password.
	reg("erin@example.com", "attacker-pass-2")

	// Wrong codes and codes for another address are one answer.
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for _, body := range []map[string]any{{"email": "erin@example.com", "code": wrong}, {"email": "nobody@example.com", "code": code}} {
		r := call(t, http.MethodPost, s.url+"/v1/auth/verify", "", body)
		if e := r.errorBody(t); r.status != http.StatusBadRequest || e.Code != "invalid_verification_code" {
			t.Errorf("verify %v: %s, want 400 invalid_verification_code", body, r)
		}
	}

	// The right code (through the CLI) creates the account with erin's
	// password and logs her in.
	erin := newCLI(t, "erin", s.url)
	out := erin.ok(code+"\n", "auth", "verify", "--email", "erin@example.com")
	mustContain(t, "auth verify", out, "verified")
	me := jsonObject(t, "me", call(t, http.MethodGet, s.url+"/v1/auth/me", erin.token(), nil), http.StatusOK)
	if me["email"] != "erin@example.com" || me["role"] != "member" {
		t.Errorf("after verify: %v", me)
	}
	if r := call(t, http.MethodPost, s.url+"/v1/auth/login", "", map[string]any{"email": "erin@example.com", "password": "attacker-pass-2"}); r.status != http.StatusUnauthorized {
		t.Errorf("the second registrant's password logs in: %s", r)
	}
	if r := call(t, http.MethodPost, s.url+"/v1/auth/login", "", map[string]any{"email": "erin@example.com", "password": "erin-pass-1234"}); r.status != http.StatusOK {
		t.Errorf("erin's own password: %s", r)
	}
	// The account's creation is in the admin trail.
	if r := call(t, http.MethodGet, s.url+"/v1/admin/audit?action=auth.register", owner.token(), nil); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), "erin@example.com") || !strings.Contains(string(r.body), "verified=email") {
		t.Errorf("admin trail of registrations: %s", r)
	}
	// A code is used once.
	if r := call(t, http.MethodPost, s.url+"/v1/auth/verify", "", map[string]any{"email": "erin@example.com", "code": code}); r.status != http.StatusBadRequest {
		t.Errorf("verify again with a used code: %s", r)
	}

	// Re-sending: the same answer for an unknown address, an account and
	// a pending registration; only the pending one gets mail.
	resend := func(email string) map[string]any {
		return jsonObject(t, "resend "+email, call(t, http.MethodPost, s.url+"/v1/auth/resend-verification", "", map[string]any{"email": email}), http.StatusOK)
	}
	reg("frank@example.com", "frank-pass-1234")
	box.waitFor(t, "frank@example.com", "verification code")
	a, b, c := resend("nobody@example.com"), resend("erin@example.com"), resend("frank@example.com")
	if string(mustJSON(t, a)) != string(mustJSON(t, b)) || string(mustJSON(t, b)) != string(mustJSON(t, c)) {
		t.Errorf("resend answers differ: %v / %v / %v", a, b, c)
	}
	deadline := time.Now().Add(15 * time.Second)
	for (box.count("frank@example.com", "verification code") < 2 || box.count("erin@example.com", "verification code") < 2) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := box.count("frank@example.com", "verification code"); n != 2 {
		t.Errorf("frank got %d verification mails, want 2", n)
	}
	// Erin's inbox got her own code and the one of the second
	// registration of her address, none after she verified.
	if n := box.count("erin@example.com", "verification code"); n != 2 {
		t.Errorf("erin got %d verification mails, want 2 (none after verifying)", n)
	}
	if n := box.count("owner@example.com", "verification code") + box.count("nobody@example.com", "verification code"); n != 0 {
		t.Errorf("%d verification mails went to an account or an unknown address", n)
	}
	// Five wrong codes void the pending ones: guessing stays hopeless.
	reg("gina@example.com", "gina-pass-1234")
	gm := verifyCodeRE.FindStringSubmatch(box.waitFor(t, "gina@example.com", "verification code").Body)
	if gm == nil {
		t.Fatal("no code for gina")
	}
	for i := 0; i < 5; i++ {
		guess := "00000" + strconv.Itoa(i)
		if guess == gm[1] {
			guess = "999999"
		}
		call(t, http.MethodPost, s.url+"/v1/auth/verify", "", map[string]any{"email": "gina@example.com", "code": guess})
	}
	if r := call(t, http.MethodPost, s.url+"/v1/auth/verify", "", map[string]any{"email": "gina@example.com", "code": gm[1]}); r.status != http.StatusBadRequest {
		t.Errorf("the right code after five wrong ones: %s, want 400", r)
	}
	// The CLI's resend says the same.
	mustContain(t, "auth resend-verification", erin.ok("", "auth", "resend-verification", "--email", "nobody@example.com"), "If a registration")
}

// count is how many messages to rcpt have subject in their subject.
func (b *emInbox) count(rcpt, subject string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		for _, to := range m.To {
			if to == rcpt && strings.Contains(m.Subject, subject) {
				n++
			}
		}
	}
	return n
}

// Without email there is no verification, but registering still never
// tells whether an address has an account, and changes nothing of one.
func TestCompatRegisterWithoutEmailIsUniform(t *testing.T) {
	t.Parallel()
	s, owner, _ := compatOwner(t, false)
	owner.ok("", "owner", "settings", "set", "--invite-only=false")
	reg := func(email, pw string) map[string]any {
		m := jsonObject(t, "register "+email, call(t, http.MethodPost, s.url+"/v1/auth/register", "", map[string]any{"email": email, "password": pw}), http.StatusCreated)
		delete(m, "email")
		return m
	}
	fresh := reg("hal@example.com", "hal-pass-1234")
	again := reg("hal@example.com", "someone-else-1")
	owners := reg("owner@example.com", "someone-else-2")
	if string(mustJSON(t, fresh)) != string(mustJSON(t, again)) || string(mustJSON(t, fresh)) != string(mustJSON(t, owners)) {
		t.Errorf("register answers differ:\n new      %v\n again    %v\n owner's  %v", fresh, again, owners)
	}
	for email, pw := range map[string]string{"hal@example.com": "hal-pass-1234", "owner@example.com": "owner-pass-123"} {
		if r := call(t, http.MethodPost, s.url+"/v1/auth/login", "", map[string]any{"email": email, "password": pw}); r.status != http.StatusOK {
			t.Errorf("%s's own password after a second registration: %s", email, r)
		}
	}
	if r := call(t, http.MethodPost, s.url+"/v1/auth/login", "", map[string]any{"email": "owner@example.com", "password": "someone-else-2"}); r.status != http.StatusUnauthorized {
		t.Errorf("the second registrant's password logs in to the owner's account: %s", r)
	}
}

// The browser's registration form says to check the email, and logs no
// one in, when the address must be verified first.
func TestCompatEmailVerificationInTheBrowser(t *testing.T) {
	t.Parallel()
	box := emStartInbox(t)
	s, owner, _ := compatOwner(t, false, "AGENT_VAULT_SMTP_HOST=127.0.0.1", "AGENT_VAULT_SMTP_PORT="+strconv.Itoa(box.port),
		"AGENT_VAULT_SMTP_TLS_MODE=none", "AGENT_VAULT_SMTP_FROM=vault@example.test")
	owner.ok("", "owner", "settings", "set", "--invite-only=false")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.url + "/register")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form on /register:\n%s", page)
	}
	resp, err = c.PostForm(s.url+"/register", url.Values{"csrf": {string(m[1])}, "email": {"ivy@example.com"},
		"password": {"ivy-pass-1234"}, "confirm": {"ivy-pass-1234"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "verification code") {
		t.Errorf("registering in the browser: %d\n%s", resp.StatusCode, body)
	}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if strings.Contains(strings.ToLower(ck.Name), "session") && ck.Value != "" {
			t.Errorf("the browser got a session cookie %s before verifying", ck.Name)
		}
	}
	box.waitFor(t, "ivy@example.com", "verification code")
}
