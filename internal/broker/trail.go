package broker

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// The admin audit trail: every management action writes one row through
// record, in the action's own transaction where it has one, so that a
// rolled-back action leaves no row and a committed one always has its
// row. The rows are hash-chained with a key derived from the keyring (see
// package trail and docs/operations.md).

// trailKeyLabel names the chain key among the keys derived from the DEK.
const trailKeyLabel = "admin-trail-chain"

type sourceKey struct{}

// WithSource returns ctx carrying the client's address, as the server
// determined it (trusted proxies' X-Forwarded-For applied), for the trail.
func WithSource(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// sourceOf is the client address WithSource put in ctx, "" when none.
func sourceOf(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// maxTrailField bounds what an untrusted caller (the email tried at a
// failed login, a name) can make a row hold.
const maxTrailField = 256

// event starts a row for action by a in vault v (zero for instance-wide
// actions) on target.
func (a Actor) event(action string, v model.Vault, target string) trail.Event {
	e := trail.Event{Action: action, VaultID: v.ID, Vault: v.Name, Target: target}
	switch {
	case a.Scope != nil:
		e.ActorKind, e.ActorID, e.ActorName = trail.ActorSession, a.Scope.ID, a.Name()
	case a.Kind == model.ActorAgent:
		e.ActorKind, e.ActorID, e.ActorName = trail.ActorAgent, a.Agent.ID, a.Name()
	case a.User.ID != "":
		e.ActorKind, e.ActorID, e.ActorName = trail.ActorUser, a.User.ID, a.User.Email
	default: // no account: the email tried at a failed login, if any
		e.ActorKind, e.ActorName = trail.ActorAnon, a.User.Email
	}
	return e
}

// userEvent is a row acted by a user known by id and email (logins,
// registration, invites accepted, password resets).
func userEvent(action string, u model.User) trail.Event {
	return Actor{Kind: model.ActorUser, User: u}.event(action, model.Vault{}, u.Email)
}

// failed returns e marked as a failure.
func failed(e trail.Event) trail.Event { e.Outcome = trail.Failure; return e }

// with returns e with detail set.
func with(e trail.Event, detail string) trail.Event { e.Detail = detail; return e }

// record appends e to the trail through st: pass the action's
// transaction, so that the row commits or rolls back with the action.
// Time, source and (when unset) a success outcome are filled in here.
func (b *Broker) record(ctx context.Context, st store.Store, e trail.Event) error {
	if !b.trailKey.Valid() {
		return nil // a broker without a keyring (some unit tests) keeps no trail
	}
	return appendEvent(ctx, st, b.trailKey, b.now(), e)
}

// appendEvent fills in and appends one row (record, and the daemon's
// master-password change, which has no broker).
func appendEvent(ctx context.Context, st store.Store, key trail.Key, now time.Time, e trail.Event) error {
	e.Time = now
	e.Source = sourceOf(ctx)
	if e.Outcome == "" {
		e.Outcome = trail.Success
	}
	for _, f := range []*string{&e.ActorName, &e.Target, &e.Detail, &e.Vault, &e.Source} {
		*f = clip(*f)
	}
	if _, err := st.AdminEvents().Append(ctx, key, e); err != nil {
		return errs.Internal(err, "writing the admin audit trail")
	}
	return nil
}

// recordAfter records e when the write before it (err) succeeded, and
// returns err otherwise: `return b.recordAfter(ctx, tx, write(), e)`.
func (b *Broker) recordAfter(ctx context.Context, st store.Store, err error, e trail.Event) error {
	if err != nil {
		return err
	}
	return b.record(ctx, st, e)
}

// recordFailure appends a failure row in a transaction of its own (the
// action's own rolled back, or it had none). A row that cannot be written
// is logged, and the action's own error stands. Repeats of one actor's
// failed action within failureEvery are counted, not written: the next
// row says how many were left out, so that a caller cannot grow the
// trail at its request rate.
func (b *Broker) recordFailure(ctx context.Context, e trail.Event, cause error) {
	e.Outcome = trail.Failure
	if e.Detail == "" {
		e.Detail = failureDetail(cause)
	}
	skipped, ok := b.failures.admit(e.ActorKind+"\x00"+e.ActorID+"\x00"+e.ActorName+"\x00"+e.Action, b.now())
	if !ok {
		return
	}
	if skipped > 0 {
		e.Detail += " (+" + strconv.Itoa(skipped) + " more since the last row)"
	}
	if err := b.record(ctx, b.st, e); err != nil {
		b.log.Error("could not write a failure to the admin audit trail", "action", e.Action, "err", err)
	}
}

// clip cuts s to maxTrailField bytes on a rune boundary, marked as cut.
func clip(s string) string {
	if len(s) <= maxTrailField {
		return s
	}
	cut := maxTrailField - 3
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + "…"
}

func isRuneStart(c byte) bool { return c&0xC0 != 0x80 }

// failureDetail names why an action failed: its error's code, or its kind.
func failureDetail(err error) string {
	x, ok := errs.As(err)
	if !ok {
		return "internal"
	}
	if x.Code != "" {
		return x.Code
	}
	switch x.Kind {
	case errs.KindInvalid:
		return "invalid"
	case errs.KindUnauthorized:
		return "unauthorized"
	case errs.KindForbidden:
		return "forbidden"
	case errs.KindNotFound:
		return "not_found"
	case errs.KindConflict:
		return "conflict"
	case errs.KindRateLimited:
		return "rate_limited"
	}
	return "failed"
}

// serviceNames lists services' names for a row's target.
func serviceNames(svcs []service.Service) string {
	names := make([]string, len(svcs))
	for i, s := range svcs {
		names[i] = s.Name
	}
	return strings.Join(names, ",")
}

// settingsChanged names the settings an update sets (not their values:
// the rows say what changed and who changed it).
func settingsChanged(in apitype.InstanceSettings) string {
	var out []string
	for name, set := range map[string]bool{
		"invite_only": in.InviteOnly != nil, "allowed_email_domains": in.AllowedEmailDomains != nil,
		"log_max_age_hours": in.LogMaxAgeHours != nil, "log_max_rows_per_vault": in.LogMaxRowsPerVault != nil,
		"rate_limit_profile": in.RateLimitProfile != nil, "rate_limit_overrides": in.RateLimitOverrides != nil,
		"audit_retention_days": in.AuditRetentionDays != nil, "rate_limit": in.RateLimit != nil,
	} {
		if set {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// failureEvery is how often one actor's failures of one action are
// written; failureKeys bounds the memory that takes.
const (
	failureEvery = 10 * time.Second
	failureKeys  = 10000
)

// failureGate admits one failure row per key and failureEvery, and counts
// the rest.
type failureGate struct {
	mu   sync.Mutex
	last map[string]failureSeen
}

type failureSeen struct {
	at      time.Time
	skipped int
}

// admit reports whether a row for key may be written at now, and how many
// were left out since the last one.
func (g *failureGate) admit(key string, now time.Time) (int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil || len(g.last) >= failureKeys {
		g.last = map[string]failureSeen{} // forgetting only lets more rows through
	}
	s, seen := g.last[key]
	if seen && now.Sub(s.at) < failureEvery {
		s.skipped++
		g.last[key] = s
		return 0, false
	}
	g.last[key] = failureSeen{at: now}
	return s.skipped, true
}

// patternList lists host patterns for a row's detail.
func patternList(ps []service.Pattern) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}
