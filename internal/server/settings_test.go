package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
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
