package broker

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// Who counts as the writer of a value: a session an agent minted is that
// agent; one a user minted is never that user.
func TestPrincipal(t *testing.T) {
	cases := []struct {
		a    Actor
		want string
	}{
		{Actor{Kind: model.ActorUser, User: model.User{ID: "u1"}}, "user:u1"},
		{Actor{Kind: model.ActorAgent, Agent: model.Agent{ID: "a1"}}, "agent:a1"},
		{Actor{Kind: model.ActorAgent, Agent: model.Agent{ID: "a1"}, Scope: &model.ScopedSession{ID: "s1", AgentID: "a1"}}, "agent:a1"},
		{Actor{Kind: model.ActorAgent, User: model.User{ID: "u1"}, Scope: &model.ScopedSession{ID: "s2", UserID: "u1"}}, "session:s2"},
	}
	for _, c := range cases {
		if got := c.a.principal(); got != c.want {
			t.Errorf("principal of %+v = %q, want %q", c.a, got, c.want)
		}
	}
	for p, want := range map[string]bool{"user:u1": false, "proposal:3": false, "": false, "agent:a1": true, "session:s1": true} {
		if writtenByAgent(p) != want {
			t.Errorf("writtenByAgent(%q) = %v", p, !want)
		}
	}
}

func TestChangedServices(t *testing.T) {
	parse := func(s apitype.Service) service.Service {
		t.Helper()
		v, err := service.FromAPI(s, "")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := parse(apitype.Service{Name: "api", Host: "api.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "K"}})
	moved := parse(apitype.Service{Name: "api", Host: "evil.example.com", Auth: apitype.ServiceAuth{Type: "bearer", Token: "K"}})
	b := parse(apitype.Service{Name: "bee", Host: "b.example.com", Auth: apitype.ServiceAuth{Type: "passthrough"}})
	names := func(ss []service.Service) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name+"@"+s.Pattern.String())
		}
		return out
	}
	for _, c := range []struct {
		cur, next []service.Service
		want      int
	}{
		{nil, []service.Service{a}, 1},
		{[]service.Service{a}, []service.Service{a}, 0},
		{[]service.Service{a, b}, []service.Service{b, a}, 0},
		{[]service.Service{a}, []service.Service{moved}, 1},
		{[]service.Service{a}, []service.Service{a, b}, 1},
		{[]service.Service{a, b}, nil, 0},
	} {
		if got := changedServices(c.cur, c.next); len(got) != c.want {
			t.Errorf("changedServices(%v, %v) = %v, want %d", names(c.cur), names(c.next), names(got), c.want)
		}
	}
}

// A credential's binding answers "would KEY go to a service at this
// pattern" (CredentialBindings, tested with service.CoveredBy).
func TestCredentialBindingCovers(t *testing.T) {
	ctx := context.Background()
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	st := sqltest.Open(t)
	b := New(Options{Store: st, Keyring: kr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"})
	if err != nil {
		t.Fatal(err)
	}
	own, err := b.Authenticate(ctx, reg.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetCredentials(ctx, own, apitype.SetCredentialsRequest{Vault: "default", Credentials: map[string]string{"K": "v"},
		AllowedHosts: map[string][]string{"K": {"*.example.com"}}}); err != nil {
		t.Fatal(err)
	}
	v, err := st.Vaults().ByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	all, err := CredentialBindings(ctx, st, v.ID)
	if err != nil || len(all) != 1 || len(all["K"]) != 1 || all["K"][0] != "*.example.com" {
		t.Fatalf("CredentialBindings = %v, %v", all, err)
	}
	for pat, want := range map[string]bool{"api.example.com": true, "*.example.com": true, "example.com": false, "evil.test": false} {
		p, _ := service.ParsePattern(pat)
		if got := service.CoveredBy(all["K"], p); got != want {
			t.Errorf("K bound to %s: %v; want %v", pat, got, want)
		}
		if service.CoveredBy(all["NOPE"], p) {
			t.Errorf("a missing credential is bound to %s", pat)
		}
	}
}
