package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/client"
)

// A vault name the caller cannot see gets one answer from every command,
// the same for a typo and for another team's vault, so that the answer
// tells a non-member nothing about which vaults exist; minting a vault
// session (what `run` and `vault token` do) answers like the rest.
func TestVaultNameTypoOneAnswer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	own := e.owner()
	if _, err := own.CreateVault(ctx, "team-secret"); err != nil {
		t.Fatal(err)
	}
	bob := e.invite(own, "bob@example.com", "member")
	if _, err := bob.CreateVault(ctx, "bobs"); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(vault string) error{
		"vault token": func(v string) error {
			_, err := bob.CreateScopedSession(ctx, apitype.CreateScopedSessionRequest{Vault: v})
			return err
		},
		"discover":        func(v string) error { _, err := bob.Discover(ctx, v); return err },
		"credential list": func(v string) error { _, err := bob.Credentials(ctx, v, false, ""); return err },
		"service list":    func(v string) error { _, err := bob.Services(ctx, v); return err },
		"settings":        func(v string) error { _, err := bob.VaultSettings(ctx, v); return err },
		"user list":       func(v string) error { _, err := bob.VaultUsers(ctx, v); return err },
		"agent list":      func(v string) error { _, err := bob.VaultAgents(ctx, v); return err },
		"logs":            func(v string) error { _, err := bob.RequestLogs(ctx, v, client.LogFilter{}); return err },
		"logs hosts":      func(v string) error { _, err := bob.DiscoveredHosts(ctx, v); return err },
		"audit --vault":   func(v string) error { _, err := bob.VaultAudit(ctx, v, client.AuditFilter{}); return err },
		"proposal list":   func(v string) error { _, err := bob.AdminProposals(ctx, v, ""); return err },
		"delete":          func(v string) error { _, err := bob.DeleteVault(ctx, v); return err },
	}
	answer := func(what, vault string) string {
		err := calls[what](vault)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 404 {
			t.Errorf("%s --vault %s: %v, want a 404", what, vault, err)
			return ""
		}
		return strings.ReplaceAll(ae.Body.Error, vault, "NAME")
	}
	want := `vault "NAME" not found: list your vaults with ` + "`agent-vault vault list`"
	for what := range calls {
		typo, hidden := answer(what, "bobz"), answer(what, "team-secret")
		if typo != want || hidden != want {
			t.Errorf("%s: typo %q, another team's vault %q; want both %q", what, typo, hidden, want)
		}
	}
	// The member of a vault without the role still hears why.
	if _, err := bob.CreateScopedSession(ctx, apitype.CreateScopedSessionRequest{Vault: "bobs"}); err != nil {
		t.Fatalf("bob minting in his own vault: %v", err)
	}
}
