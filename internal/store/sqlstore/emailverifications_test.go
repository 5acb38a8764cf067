package sqlstore_test

import (
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

// Pending registrations: keyed by address, newest first, void after the
// wrong-code limit, used all at once, counted for the hourly cap and
// swept by age.
func TestEmailVerifications(t *testing.T) {
	db := newDB(t)
	ev := db.EmailVerifications()
	now := t0.UTC()
	mk := func(id, email string, created time.Time) model.EmailVerification {
		return model.EmailVerification{ID: id, Email: email, PasswordHash: "hash-" + id, CodeHash: []byte("code-" + id),
			CreatedAt: created, ExpiresAt: created.Add(model.PasswordResetTTL)}
	}
	mustNil(t, ev.Create(ctx, mk("a", "x@example.com", now.Add(-2*time.Minute))))
	mustNil(t, ev.Create(ctx, mk("b", "x@example.com", now.Add(-time.Minute))))
	mustNil(t, ev.Create(ctx, mk("c", "y@example.com", now)))
	mustNil(t, ev.Create(ctx, mk("old", "x@example.com", now.Add(-2*time.Hour))))

	p, err := ev.Pending(ctx, "x@example.com", now)
	mustNil(t, err)
	if len(p) != 2 || p[0].ID != "b" || p[1].ID != "a" || p[0].PasswordHash != "hash-b" || string(p[0].CodeHash) != "code-b" {
		t.Fatalf("pending = %+v, want b then a (the old one expired)", p)
	}
	sameTime(t, "created", p[0].CreatedAt, now.Add(-time.Minute))
	if n, err := ev.CountSince(ctx, "x@example.com", now.Add(-time.Hour)); err != nil || n != 2 {
		t.Errorf("count within the hour = %d, %v; want 2", n, err)
	}

	for i := 0; i < model.PasswordResetMaxFailures; i++ {
		mustNil(t, ev.Fail(ctx, "x@example.com", now))
	}
	if p, _ := ev.Pending(ctx, "x@example.com", now); len(p) != 0 {
		t.Errorf("after %d wrong codes pending = %+v, want none", model.PasswordResetMaxFailures, p)
	}
	// Another address is untouched, until its codes are used.
	if p, _ := ev.Pending(ctx, "y@example.com", now); len(p) != 1 || p[0].Failures != 0 {
		t.Errorf("y's pending = %+v", p)
	}
	mustNil(t, ev.UseAll(ctx, "y@example.com", now))
	if p, _ := ev.Pending(ctx, "y@example.com", now); len(p) != 0 {
		t.Errorf("after UseAll y's pending = %+v", p)
	}
	if n, err := ev.DeleteCreatedBefore(ctx, now.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("swept %d, %v; want the 2-hour-old one", n, err)
	}
}
