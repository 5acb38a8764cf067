package broker

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/store"
)

// proposalRowFixture makes a vault with one service and a pending proposal
// that sets a credential and a service, and returns the fixture and the
// proposal's id.
func proposalRowFixture(t *testing.T) (trailFixture, int64) {
	t.Helper()
	f := newTrailFixture(t)
	ctx := context.Background()
	b, owner := f.b, f.owner
	if _, err := b.CreateVault(ctx, owner, apitype.CreateVaultRequest{Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	p, err := b.CreateProposal(ctx, owner, "prod", apitype.CreateProposalRequest{
		Services: []apitype.ProposalService{{Action: "set", Name: "api", Host: "api.example.com",
			Auth: &apitype.ServiceAuth{Type: "bearer", Token: "NEW_KEY"}}},
		Credentials: []apitype.ProposalCredential{{Action: "set", Key: "NEW_KEY", Value: ptr(secretProposed)}}, Message: "need a key"})
	if err != nil {
		t.Fatal(err)
	}
	return f, p.ID
}

// plantProposalColumn overwrites one stored column of a proposal, as a
// damaged disk, a bad restore or a hand edit would.
func plantProposalColumn(t *testing.T, f trailFixture, id int64, column, value string) {
	t.Helper()
	if column != "services" && column != "credentials" {
		t.Fatalf("no column %s", column)
	}
	if _, err := f.db.SQL().Exec(f.db.Rebind(`UPDATE proposals SET `+column+` = ? WHERE id = ?`), value, id); err != nil {
		t.Fatal(err)
	}
}

// A stored proposal that cannot be read is an error wherever it is used:
// approving it fails and leaves it pending with nothing applied, instead of
// applying nothing and marking it applied.
func TestCorruptProposalRowFailsLoudly(t *testing.T) {
	cases := []struct{ name, column, value string }{
		{"services not JSON", "services", `{"v":2,"services":[`},
		{"credentials not JSON", "credentials", `[{"action":"set",`},
		{"services null", "services", `null`},
		{"credentials null", "credentials", `null`},
		{"services a string", "services", `"set api"`},
		{"unknown action", "credentials", `[{"action":"sett","key":"NEW_KEY"}]`},
		{"empty action", "services", `[{"name":"api","host":"api.example.com","auth":{"type":"bearer","token":"NEW_KEY"}}]`},
		{"future version", "services", `{"v":99,"services":[]}`},
		{"version missing", "credentials", `{"credentials":[{"action":"set","key":"NEW_KEY"}]}`},
		{"unknown field in the current version", "credentials", `{"v":2,"credentials":[{"action":"set","key":"NEW_KEY","value":"x"}]}`},
		{"service that no longer parses", "services", `[{"action":"set","name":"api","host":"http://[::1","auth":{"type":"bearer","token":"NEW_KEY"}}]`},
		{"set service without auth", "services", `[{"action":"set","name":"api","host":"api.example.com"}]`},
		{"delete without a name", "services", `[{"action":"delete"}]`},
		{"bad credential key", "credentials", `[{"action":"set","key":"new key"}]`},
		{"bad credential type", "credentials", `[{"action":"set","key":"NEW_KEY","type":"magic"}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, id := proposalRowFixture(t)
			ctx := context.Background()
			plantProposalColumn(t, f, id, c.column, c.value)

			_, err := f.b.ApproveProposal(ctx, f.owner, id, apitype.ApproveProposalRequest{})
			if err == nil {
				t.Fatal("approving a corrupt proposal succeeded")
			}
			if e, ok := errs.As(err); !ok || e.Kind != errs.KindInternal {
				t.Fatalf("approve: want an internal error, got %v", err)
			}
			p, gerr := f.db.Proposals().Get(ctx, id)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if p.Status != model.ProposalPending || p.DecidedAt != nil {
				t.Fatalf("a corrupt proposal was marked %s", p.Status)
			}
			if _, err := f.db.Credentials().Get(ctx, p.VaultID, "NEW_KEY"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a corrupt proposal's credential was written (err %v)", err)
			}
			if _, err := f.b.AdminGetProposal(ctx, f.owner, id); err == nil {
				t.Fatal("showing a corrupt proposal succeeded")
			}
			if _, err := f.b.AdminListProposals(ctx, f.owner, "prod", ""); err == nil {
				t.Fatal("listing a corrupt proposal succeeded")
			}
			// Rejecting stays possible: it is how a reviewer clears it.
			if _, err := f.b.RejectProposal(ctx, f.owner, id, apitype.RejectProposalRequest{Reason: "damaged"}); err != nil {
				t.Fatalf("reject: %v", err)
			}
		})
	}
}

// Both documents empty is a proposal of nothing: refused, not applied.
func TestEmptyProposalRowIsRefused(t *testing.T) {
	f, id := proposalRowFixture(t)
	plantProposalColumn(t, f, id, "services", `[]`)
	plantProposalColumn(t, f, id, "credentials", `[]`)
	if _, err := f.b.ApproveProposal(context.Background(), f.owner, id, apitype.ApproveProposalRequest{}); err == nil ||
		!strings.Contains(err.Error(), "no change") {
		t.Fatalf("approving an empty proposal: %v", err)
	}
}

// Rows written before the storage form was versioned (bare arrays of the
// API's shape) still load and apply.
func TestUnversionedProposalRowStillApplies(t *testing.T) {
	f, id := proposalRowFixture(t)
	ctx := context.Background()
	plantProposalColumn(t, f, id, "services", `[{"action":"set","name":"api","host":"api.example.com","auth":{"type":"bearer","token":"NEW_KEY"}}]`)
	plantProposalColumn(t, f, id, "credentials", `[{"action":"set","key":"NEW_KEY","type":"static","description":"the key","has_value":true}]`)
	v, err := f.b.AdminGetProposal(ctx, f.owner, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Services) != 1 || v.Services[0].Action != "set" || v.Services[0].Host != "api.example.com" ||
		len(v.Credentials) != 1 || v.Credentials[0].Description != "the key" || !v.Credentials[0].HasValue {
		t.Fatalf("old row read as %+v", v)
	}
	out, err := f.b.ApproveProposal(ctx, f.owner, id, apitype.ApproveProposalRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "applied" || len(out.Applied) != 2 {
		t.Fatalf("approve: %+v", out)
	}
	p, _ := f.db.Proposals().Get(ctx, id)
	if _, err := f.db.Credentials().Get(ctx, p.VaultID, "NEW_KEY"); err != nil {
		t.Fatalf("the old row's credential was not written: %v", err)
	}
}

// New rows are written in the current, versioned form.
func TestProposalRowIsVersioned(t *testing.T) {
	f, id := proposalRowFixture(t)
	p, err := f.db.Proposals().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range [][]byte{p.ServicesDoc, p.CredentialsDoc} {
		if !strings.HasPrefix(string(doc), `{"v":2,`) {
			t.Fatalf("stored %s", doc)
		}
		if strings.Contains(string(doc), secretProposed) {
			t.Fatal("a proposed value is stored in the document")
		}
	}
}

// Decoding a stored document never panics, and whatever it accepts
// survives a write and a read unchanged.
func FuzzDecodeProposal(f *testing.F) {
	f.Add([]byte(`{"v":2,"services":[{"action":"set","name":"api","host":"api.example.com","auth":{"type":"bearer","token":"K"}}]}`), []byte(`{"v":2,"credentials":[]}`))
	f.Add([]byte(`[{"action":"delete","name":"api"}]`), []byte(`[{"action":"set","key":"K","type":"oauth","oauth":{"token_url":"https://x.test/t"}}]`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, svcDoc, credDoc []byte) {
		c, err := decodeChanges(svcDoc, credDoc)
		if err != nil {
			return
		}
		if len(c.services)+len(c.credentials) == 0 {
			t.Fatal("decoded a proposal of nothing")
		}
		s2, c2, err := encodeProposal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeChanges(s2, c2)
		if err != nil {
			t.Fatalf("re-reading what was written: %v", err)
		}
		a1, b1 := changesToAPI(c)
		a2, b2 := changesToAPI(back)
		if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(b1, b2) {
			t.Fatalf("round trip changed the proposal:\n%v %v\n%v %v", a1, b1, a2, b2)
		}
	})
}

// The housekeeping goes through the broker: an overdue proposal becomes
// expired (its sealed value dropped) and expired sessions go, in one call.
func TestSweepExpiresProposalsAndSessions(t *testing.T) {
	f, id := proposalRowFixture(t)
	ctx := context.Background()
	short, err := f.b.CreateScopedSession(ctx, f.owner, apitype.CreateScopedSessionRequest{Vault: "prod", TTLSeconds: 300})
	if err != nil {
		t.Fatal(err)
	}
	long, err := f.b.CreateScopedSession(ctx, f.owner, apitype.CreateScopedSessionRequest{Vault: "prod", TTLSeconds: 604800})
	if err != nil {
		t.Fatal(err)
	}
	real := f.b.now
	f.b.now = func() time.Time { return real().Add(model.ProposalTTL + 31*24*time.Hour) }
	n, err := f.b.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.ExpiredProposals != 1 || n.ExpiredSessions < 1 || n.ExpiredVaultSessions != 2 {
		t.Fatalf("swept %+v, want the proposal, the owner's session and both vault sessions", n)
	}
	left, err := f.db.ScopedSessions().ListByCreator(ctx, f.owner.User.ID, "", time.Time{}) // expired ones too
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range left {
		if x.ID == short.ID || x.ID == long.ID {
			t.Fatalf("vault session %s is still stored after it expired", x.ID)
		}
	}
	p, err := f.db.Proposals().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != model.ProposalExpired || len(p.SealedValues) != 0 {
		t.Fatalf("after the sweep the proposal is %s with %d sealed values", p.Status, len(p.SealedValues))
	}
	if n, err := f.b.Sweep(ctx); err != nil || n.ExpiredProposals != 0 || n.ExpiredSessions != 0 || n.ExpiredVaultSessions != 0 {
		t.Fatalf("a second sweep: %+v, %v", n, err)
	}
}
