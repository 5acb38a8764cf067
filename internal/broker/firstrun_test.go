package broker

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

const gateCode = "ABCDE-FGHJK-MNPQR-STUVW"

// freshBroker is a broker on an empty database (no account yet).
func freshBroker(t *testing.T) *Broker {
	t.Helper()
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{Store: sqltest.Open(t), Keyring: kr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err := b.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

func accounts(t *testing.T, b *Broker) bool {
	t.Helper()
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return !st.NeedsFirstUser
}

// An attacker who reaches a fresh instance tries to become its owner
// without the code, with a wrong one, with look-alikes: every attempt is
// refused as a wrong guess (charged to the address's budget by the API
// and the pages), the answer says where the code is, and no account is
// made. The right code (in any case, with or without dashes) works once.
func TestFirstAccountNeedsTheSetupCode(t *testing.T) {
	ctx := context.Background()
	b := freshBroker(t)
	var used atomic.Int32
	b.ArmFirstRun(gateCode, func() { used.Add(1) })
	if !b.FirstRunOpen() {
		t.Fatal("an armed gate with a code is not open")
	}
	for _, tc := range []struct{ name, code, wantCode string }{
		{"no code", "", "setup_code_required"},
		{"blank code", " - - ", "setup_code_required"},
		{"wrong code", "ABCDE-FGHJK-MNPQR-STUVX", "invalid_setup_code"},
		{"code and more", gateCode + "A", "invalid_setup_code"},
		{"prefix", gateCode[:22], "invalid_setup_code"},
		{"look-alike letters", strings.NewReplacer("S", "ſ", "K", "\u212a").Replace(gateCode), "invalid_setup_code"},
	} {
		_, err := b.Register(ctx, apitype.Credentials{Email: "mallory@example.com", Password: "mallory-pass-1", SetupCode: tc.code})
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.KindUnauthorized || e.Code != tc.wantCode || !WrongGuess(err) {
			t.Fatalf("%s: %v, want unauthorized %s", tc.name, err, tc.wantCode)
		}
		if !strings.Contains(e.Message, "setup-code in the server's data directory") || !strings.Contains(e.Message, "terminal or log") {
			t.Errorf("%s: the answer does not say where the code is: %q", tc.name, e.Message)
		}
		if strings.Contains(e.Message, gateCode) || strings.Contains(e.Message, strings.ReplaceAll(gateCode, "-", "")) {
			t.Fatalf("%s: the answer holds the code", tc.name)
		}
		if accounts(t, b) {
			t.Fatalf("%s: an account was created", tc.name)
		}
	}
	out, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: strings.ToLower(strings.ReplaceAll(gateCode, "-", " "))})
	if err != nil || out.Role != "owner" || !out.Authenticated {
		t.Fatalf("the right code: %+v, %v", out, err)
	}
	if used.Load() != 1 || b.FirstRunOpen() {
		t.Errorf("after the owner: onUsed ran %d times, gate open %v", used.Load(), b.FirstRunOpen())
	}
	// Replayed: the instance has its owner, so the code makes nobody
	// owner again (registration is invite-only by default).
	_, err = b.Register(ctx, apitype.Credentials{Email: "mallory@example.com", Password: "mallory-pass-1", SetupCode: gateCode})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("the code replayed: %v, want the invite-only refusal", err)
	}
	if used.Load() != 1 {
		t.Errorf("onUsed ran again: %d", used.Load())
	}
}

// Many guesses from many addresses (past every per-address budget) close
// the gate: even the right code is refused until a restart makes a new
// one, and the refusal is no wrong guess of the caller's.
func TestSetupGuessesAreBounded(t *testing.T) {
	ctx := context.Background()
	b := freshBroker(t)
	b.ArmFirstRun(gateCode, nil)
	for i := range maxSetupGuesses {
		if err := b.checkSetupCode("WRONG-"+strings.Repeat("A", i%7), true); errs.KindOf(err) != errs.KindUnauthorized {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if b.FirstRunOpen() {
		t.Error("the gate is open after the bound")
	}
	_, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: gateCode})
	if e, ok := errs.As(err); !ok || e.Code != "setup_locked" || !strings.Contains(e.Message, "restart the server") || WrongGuess(err) {
		t.Fatalf("the right code after the bound: %v", err)
	}
	if accounts(t, b) {
		t.Fatal("an account was created through a locked gate")
	}
	// A restart arms a new code.
	b.ArmFirstRun("NEWCO-DENEW-CODEN-EWCOD", nil)
	if _, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: "NEWCO-DENEW-CODEN-EWCOD"}); err != nil {
		t.Fatal(err)
	}
}

// A server that started with accounts arms a closed gate: should the
// accounts ever go, no first account is created without a restart.
func TestClosedGateCreatesNoOwner(t *testing.T) {
	b := freshBroker(t)
	b.ArmFirstRun("", nil)
	if b.FirstRunOpen() {
		t.Error("a closed gate is open")
	}
	for _, code := range []string{"", gateCode} {
		_, err := b.Register(context.Background(), apitype.Credentials{Email: "owner@example.com", Password: "owner-pass-1", SetupCode: code})
		if e, ok := errs.As(err); !ok || e.Code != "setup_closed" {
			t.Fatalf("code %q through a closed gate: %v", code, err)
		}
	}
	if accounts(t, b) {
		t.Fatal("a closed gate let an account through")
	}
}

// Two people with the right code at once: one owner, never two.
func TestSetupCodeRaceMakesOneOwner(t *testing.T) {
	b := freshBroker(t)
	b.ArmFirstRun(gateCode, nil)
	var wg sync.WaitGroup
	var owners atomic.Int32
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Register(context.Background(), apitype.Credentials{Email: "owner" + string(rune('a'+i)) + "@example.com", Password: "owner-pass-1", SetupCode: gateCode})
			if err == nil && out.Role == "owner" {
				owners.Add(1)
			}
		}()
	}
	wg.Wait()
	if owners.Load() != 1 {
		t.Fatalf("%d owners, want 1", owners.Load())
	}
}

func TestSetupCodeShape(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c := NewSetupCode()
		if len(c) != 23 || strings.Count(c, "-") != 3 || seen[c] {
			t.Fatalf("setup code %q", c)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			if !strings.ContainsRune(setupAlphabet, r) {
				t.Fatalf("setup code %q has %q", c, r)
			}
		}
	}
}

// A typed setup code is accepted only when it is the code, up to ASCII
// case, spaces and dashes.
func FuzzSetupCodeCheck(f *testing.F) {
	code := NewSetupCode()
	f.Add(code)
	f.Add(strings.ToLower(code))
	f.Add("")
	f.Add("-----")
	f.Add(strings.NewReplacer("S", "ſ", "K", "\u212a").Replace(code))
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		f.Fatal(err)
	}
	b := New(Options{Keyring: kr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	b.ArmFirstRun(code, nil)
	f.Fuzz(func(t *testing.T, typed string) {
		ok := b.checkSetupCode(typed, false) == nil
		// ASCII case only: Unicode look-alikes (ſ for S, the Kelvin sign for K) are other characters.
		upper := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, strings.NewReplacer("-", "", " ", "", "\t", "").Replace(typed))
		want := upper == strings.ReplaceAll(code, "-", "")
		if ok != want {
			t.Fatalf("typed %q: accepted %v, want %v", typed, ok, want)
		}
	})
}
