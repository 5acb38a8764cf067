package broker

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/token"
)

// A flow's sealed parameters (PKCE verifier, client secret) open only in
// their own row: copied into a row of another user or credential, they
// do not decrypt, so a database write cannot hand one user's flow to
// another.
func TestOAuthFlowSealedToItsRow(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	started, err := f.b.StartOAuthConnect(ctx, f.owner, apitype.OAuthConnectRequest{Key: "K", AuthorizationURL: "https://idp.example/authorize",
		TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: "flow-secret"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(started.AuthorizationURL)
	st, err := f.db.OAuthStates().ByHash(ctx, token.Hash(u.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	flow, err := f.b.openFlow(st)
	if err != nil || flow.Config.ClientSecret != "flow-secret" || flow.Verifier == "" {
		t.Fatalf("own row: %+v %v", flow.Config.ClientID, err)
	}
	for name, edit := range map[string]func(){
		"another id":   func() { st.ID = "other" },
		"another user": func() { st.UserID = "someone-else" },
		"another key":  func() { st.Key = "OTHER" },
	} {
		orig := st
		edit()
		if _, err := f.b.openFlow(st); err == nil {
			t.Errorf("the sealed flow opened in a row with %s", name)
		}
		st = orig
	}
}

// The daemon's sweep deletes flows nobody finished once they expire,
// taking their sealed client secret and verifier with them.
func TestSweepDeletesExpiredOAuthFlows(t *testing.T) {
	f := newTrailFixture(t)
	ctx := context.Background()
	if _, err := f.b.StartOAuthConnect(ctx, f.owner, apitype.OAuthConnectRequest{Key: "K", AuthorizationURL: "https://idp.example/authorize",
		TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.b.Sweep(ctx); err != nil || n.OAuthFlows != 0 {
		t.Fatalf("a live flow was swept: %+v %v", n, err)
	}
	real := f.b.now
	f.b.now = func() time.Time { return real().Add(model.OAuthStateTTL + time.Second) }
	if n, err := f.b.Sweep(ctx); err != nil || n.OAuthFlows != 1 {
		t.Fatalf("swept %+v, %v; want the expired flow", n, err)
	}
}
