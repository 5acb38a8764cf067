package broker

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/password"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/store/sqltest"
)

// inbox records what the broker mails (the SMTP side is internal/mail's,
// tested against a real server there).
type inbox struct {
	mu   sync.Mutex
	msgs []string
}

func (i *inbox) Send(_ context.Context, _ []string, _, text string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.msgs = append(i.msgs, text)
	return nil
}

var codeInMail = regexp.MustCompile(`reset code: (\d{6})`)

func (i *inbox) codes() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, m := range i.msgs {
		if c := codeInMail.FindStringSubmatch(m); c != nil {
			out = append(out, c[1])
		}
	}
	return out
}

// Concurrent requests pass neither the hourly cap nor the five-failure
// limit: both are decided under the store's write lock.
func TestPasswordResetLimitsHoldUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	kr, _, err := keyring.New(secret.Bytes{}, keyring.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	box := &inbox{}
	b := New(Options{Store: sqltest.Open(t), Keyring: kr, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PasswordParams: password.Params{Time: 1, MemoryKiB: 1024, Threads: 1}, Mailer: box, BaseURL: "http://vault.test"})
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Register(ctx, apitype.Credentials{Email: "owner@example.com", Password: "owner-password"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.ForgotPassword(ctx, apitype.ForgotPasswordRequest{Email: "owner@example.com"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b.WaitForMail(ctx)
	codes := box.codes()
	if len(codes) != 3 {
		t.Fatalf("30 concurrent requests mailed %d codes, want 3", len(codes))
	}
	// Twenty concurrent wrong codes: every one is counted, so the real
	// codes are void afterwards.
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrong := []byte("100000")
			wrong[5] = byte('0' + i%10)
			wrong[4] = byte('0' + i/10)
			for _, c := range codes {
				if c == string(wrong) {
					return
				}
			}
			_, _ = b.ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "owner@example.com", Code: string(wrong), NewPassword: "new-password-1"})
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if _, err := b.ResetPassword(ctx, apitype.ResetPasswordRequest{Email: "owner@example.com", Code: c, NewPassword: "new-password-1"}); err == nil {
			t.Fatal("a code still worked after twenty wrong ones")
		}
	}
}
