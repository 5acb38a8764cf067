package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

func TestInstanceSettingsDomainsAndValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	open, domains := false, []string{"Example.COM", " @corp.example ", "example.com"}
	s, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{InviteOnly: &open, AllowedEmailDomains: &domains})
	if err != nil {
		t.Fatal(err)
	}
	if got := *s.AllowedEmailDomains; len(got) != 2 || got[0] != "example.com" || got[1] != "corp.example" {
		t.Fatalf("domains normalised to %v", got)
	}
	if _, err := e.anon().Register(ctx, apitype.Credentials{Email: "eve@evil.example", Password: "password123"}); !client.IsForbidden(err) {
		t.Fatalf("register outside the domains = %v, want 403", err)
	}
	if _, err := e.anon().Register(ctx, apitype.Credentials{Email: "ann@corp.example", Password: "password123"}); err != nil {
		t.Fatalf("register inside the domains: %v", err)
	}
	if _, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "mal@evil.example"}); !client.IsForbidden(err) {
		t.Fatalf("invite outside the domains = %v, want 403", err)
	}
	if _, err := own.CreateInvite(ctx, apitype.InviteRequest{Email: "bob@example.com"}); err != nil {
		t.Fatalf("invite inside the domains: %v", err)
	}
	for name, in := range map[string]apitype.InstanceSettings{
		"allowed_email_domains[0]": {AllowedEmailDomains: &[]string{"not a domain"}},
		// The Kelvin sign folds to "k" under Unicode case mapping: a
		// domain is ASCII (an internationalised one as xn--…), never folded.
		"allowed_email_domains[1]": {AllowedEmailDomains: &[]string{"example.com", "\u212Aorp.example"}},
		"log_max_age_hours":        {LogMaxAgeHours: new(int)},
		"log_max_rows_per_vault":   {LogMaxRowsPerVault: new(int)},
		"rate_limit_profile":       {RateLimitProfile: ptr("turbo")},
	} {
		_, err := own.UpdateInstanceSettings(ctx, in)
		var ae *client.APIError
		if !asAPIError(err, &ae) || ae.Status != http.StatusBadRequest || ae.Body.Field != name {
			t.Errorf("%s: %v, want 400 naming the field", name, err)
		}
	}
	h, rows, prof := 48, 500, "strict"
	s, err = own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{LogMaxAgeHours: &h, LogMaxRowsPerVault: &rows, RateLimitProfile: &prof})
	if err != nil || *s.LogMaxAgeHours != 48 || *s.LogMaxRowsPerVault != 500 || *s.RateLimitProfile != "strict" {
		t.Fatalf("settings = %+v, %v", s, err)
	}
	got, err := own.InstanceSettings(ctx)
	if err != nil || *got.LogMaxAgeHours != 48 || len(*got.AllowedEmailDomains) != 2 {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

func ptr[T any](v T) *T { return &v }

func asAPIError(err error, target **client.APIError) bool {
	e, ok := err.(*client.APIError)
	if ok {
		*target = e
	}
	return ok
}

func TestRateLimitSettingsValidateAndRespectTheLock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	applied := []string{}
	e.b.SetSettingsHook(func(s model.Settings) error {
		applied = append(applied, s.RateLimitProfile+"|"+s.RateLimitOverrides.Map()["PROXY_RATE"])
		return nil
	})
	good := map[string]string{"PROXY_RATE": "50", "api_burst": "100"}
	s, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitProfile: ptr("loose"), RateLimitOverrides: &good})
	if err != nil || (*s.RateLimitOverrides)["PROXY_RATE"] != "50" {
		t.Fatalf("overrides = %+v, %v", s, err)
	}
	if len(applied) != 1 || applied[0] != "loose|50" {
		t.Fatalf("the hook saw %v, want the new settings applied at once", applied)
	}
	bad := map[string]string{"PROXY_SPEED": "9"}
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitOverrides: &bad}); status(err) != http.StatusBadRequest {
		t.Fatalf("unknown knob = %v, want 400", err)
	}
	e.b.SetRateLimitsLocked(true)
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitProfile: ptr("off")}); !client.IsConflict(err) {
		t.Fatalf("profile change while locked = %v, want 409", err)
	}
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitOverrides: &good}); !client.IsConflict(err) {
		t.Fatalf("override change while locked = %v, want 409", err)
	}
	got, _ := own.InstanceSettings(ctx)
	if !got.RateLimitsLocked || *got.RateLimitProfile != "loose" {
		t.Fatalf("settings after refused changes = %+v", got)
	}
	// A hook refusal leaves nothing saved.
	e.b.SetRateLimitsLocked(false)
	e.b.SetSettingsHook(func(model.Settings) error { return errors.New("nope") })
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitProfile: ptr("strict")}); !client.IsConflict(err) {
		t.Fatalf("hook refusal = %v, want 409", err)
	}
	if got, _ := own.InstanceSettings(ctx); *got.RateLimitProfile != "loose" {
		t.Fatalf("a refused change was saved: %+v", got)
	}
}

// Settings are applied before they are stored (so that a refused change is
// never saved); when storing then fails, the running server goes back to
// the settings it had.
func TestFailedSettingsUpdateRestoresTheRunningSettings(t *testing.T) {
	if sqltest.Postgres() {
		t.Skip("the failing write is a SQLite trigger")
	}
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	var running string
	e.b.SetSettingsHook(func(s model.Settings) error { running = s.RateLimitProfile; return nil })
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitProfile: ptr("loose")}); err != nil || running != "loose" {
		t.Fatalf("first update: %v, running %q", err, running)
	}
	if _, err := e.db.SQL().Exec(`CREATE TRIGGER settings_fail BEFORE INSERT ON settings BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := own.UpdateInstanceSettings(ctx, apitype.InstanceSettings{RateLimitProfile: ptr("strict")}); err == nil {
		t.Fatal("the update succeeded though storing failed")
	}
	if running != "loose" {
		t.Errorf("after a failed update the server runs with %q, want the stored %q", running, "loose")
	}
}
