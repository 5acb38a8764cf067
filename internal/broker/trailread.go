package broker

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// AuditQuery is the filters of the trail's listings, as strings from the
// query: action (exact, or a prefix ending in "."), actor (id or name),
// since and until (RFC 3339, or an age like 1h), before (newest first
// below a seq) or after (oldest first above a seq, "0" from the start),
// limit (1 to 1000), and for owners vault.
type AuditQuery struct {
	Vault, Action, Actor, Since, Until, Before, After, Limit string
}

// filter validates the query, naming the parameter at fault; an age in
// since or until counts back from now.
func (q AuditQuery) filter(now time.Time) (store.AdminEventFilter, error) {
	f := store.AdminEventFilter{Action: q.Action, Actor: q.Actor}
	for name, v := range map[string]string{"action": q.Action, "actor": q.Actor} {
		if len(v) > maxTrailField {
			return f, errs.Invalid(name, "the %s filter is at most %d bytes", name, maxTrailField)
		}
	}
	w, err := parseListParams(listParams{Since: q.Since, Until: q.Until, Before: q.Before, After: q.After, Limit: q.Limit}, now, "a row's seq")
	if err != nil {
		return f, err
	}
	f.Since, f.Until, f.Before, f.After, f.Limit = w.Since, w.Until, w.Before, w.After, w.Limit
	if q.Before != "" && q.After != "" {
		return f, errs.Invalid("after", "use before or after, not both")
	}
	f.Ascending = q.After != ""
	return f, nil
}

// AdminAudit lists the whole admin trail (owners).
func (b *Broker) AdminAudit(ctx context.Context, a Actor, q AuditQuery) (apitype.AuditEventList, error) {
	if err := authorize(a, "", policy.ReadAdminTrail); err != nil {
		return apitype.AuditEventList{}, err
	}
	f, err := q.filter(b.now())
	if err != nil {
		return apitype.AuditEventList{}, err
	}
	if q.Vault != "" {
		v, err := b.st.Vaults().ByName(ctx, q.Vault)
		if err != nil {
			return apitype.AuditEventList{}, notFound(err, "vault %q not found: list vaults with `agent-vault owner vault list`", q.Vault)
		}
		f.VaultID = v.ID
	}
	return b.auditPage(ctx, f, q.Vault)
}

// VaultAudit lists one vault's rows of the trail (its admins, and owners).
func (b *Broker) VaultAudit(ctx context.Context, a Actor, vault string, q AuditQuery) (apitype.AuditEventList, error) {
	v, r, err := b.vaultFor(ctx, b.st, a, vault)
	if err != nil {
		return apitype.AuditEventList{}, err
	}
	if err := authorizeEither(a, r, policy.ReadVaultTrail, policy.ReadAdminTrail); err != nil {
		if r == "" {
			return apitype.AuditEventList{}, vaultNotFound(vault)
		}
		return apitype.AuditEventList{}, err
	}
	f, err := q.filter(b.now())
	if err != nil {
		return apitype.AuditEventList{}, err
	}
	f.VaultID = v.ID
	return b.auditPage(ctx, f, v.Name)
}

func (b *Broker) auditPage(ctx context.Context, f store.AdminEventFilter, vault string) (apitype.AuditEventList, error) {
	rows, err := b.st.AdminEvents().List(ctx, f)
	if err != nil {
		return apitype.AuditEventList{}, internal(err, "reading the admin audit trail")
	}
	out := apitype.AuditEventList{Vault: vault, Events: make([]apitype.AuditEvent, 0, len(rows))}
	for _, e := range rows {
		out.Events = append(out.Events, auditView(e))
	}
	if n := len(rows); n > 0 && n == f.Limit {
		out.NextCursor = rows[n-1].Seq
	} else if n > 0 && f.Ascending {
		out.NextCursor = rows[n-1].Seq // follow and export resume after the last row
	}
	return out, nil
}

func auditView(e trail.Event) apitype.AuditEvent {
	return apitype.AuditEvent{Seq: e.Seq, Time: e.Time, ActorType: e.ActorKind, ActorID: e.ActorID, Actor: e.ActorName,
		Vault: e.Vault, Action: e.Action, Target: e.Target, Source: e.Source, Outcome: e.Outcome, Detail: e.Detail,
		Hash: hex.EncodeToString(e.Hash)}
}

// VerifyAudit checks the whole chain with the server's key (owners) and
// names the first row changed, inserted or deleted.
func (b *Broker) VerifyAudit(ctx context.Context, a Actor) (apitype.AuditVerifyResult, error) {
	if err := authorize(a, "", policy.ReadAdminTrail); err != nil {
		return apitype.AuditVerifyResult{}, err
	}
	return b.verifyTrail(ctx)
}

func (b *Broker) verifyTrail(ctx context.Context) (apitype.AuditVerifyResult, error) {
	res, err := b.verifyOnce(ctx)
	if err == nil && res.Problem != nil && res.Problem.Kind == trail.Deleted {
		// Retention may have cut the oldest rows while this read them: a
		// second pass starts from the new cut.
		if h, ok, herr := b.st.AdminEvents().Head(ctx); herr == nil && ok && h.CutSeq > res.CutSeq {
			return b.verifyOnce(ctx)
		}
	}
	return res, err
}

func (b *Broker) verifyOnce(ctx context.Context) (apitype.AuditVerifyResult, error) {
	if !b.trailKey.Valid() {
		return apitype.AuditVerifyResult{}, errs.Conflict("this server has no keyring, so no admin trail to verify")
	}
	ev := b.st.AdminEvents()
	head, ok, err := ev.Head(ctx)
	if err != nil {
		return apitype.AuditVerifyResult{}, internal(err, "reading the admin trail's head")
	}
	if !ok {
		return apitype.AuditVerifyResult{Problem: &apitype.AuditProblem{Kind: trail.HeadBad, Message: "the chain's head record is missing: it was deleted"}}, nil
	}
	v := trail.NewVerifier(b.trailKey, head)
	cut := head.CutSeq // the verification starts there, whatever retention does meanwhile
	last := cut
	for !v.Done() {
		rows, err := ev.List(ctx, store.AdminEventFilter{After: last, Ascending: true, Limit: listPageMax})
		if err != nil {
			return apitype.AuditVerifyResult{}, internal(err, "reading the admin audit trail")
		}
		for _, e := range rows {
			v.Next(e)
			last = e.Seq
		}
		if len(rows) == listPageMax {
			continue
		}
		// Rows appended while this ran are checked too, up to a head read
		// after them.
		newer, _, err := ev.Head(ctx)
		if err != nil {
			return apitype.AuditVerifyResult{}, internal(err, "reading the admin trail's head")
		}
		if newer.Seq > last && newer.Seq > head.Seq {
			head = newer
			v.SetHead(newer)
			continue
		}
		break
	}
	out := apitype.AuditVerifyResult{OK: true, Checked: v.Checked(), CutSeq: cut, HeadSeq: head.Seq, HeadHash: hex.EncodeToString(head.Hash)}
	if p := v.Finish(); p != nil {
		out.OK = false
		out.Problem = &apitype.AuditProblem{Kind: p.Kind, Seq: p.Seq, Last: p.Last, Message: p.Error()}
	}
	return out, nil
}

// PruneAudit applies the trail's retention (owner setting
// audit_retention_days; 0 keeps every row): rows older than that go, the
// head keeps the hash of the last one deleted so that verification still
// starts from a known point, and the prune itself is recorded.
func (b *Broker) PruneAudit(ctx context.Context) (int64, error) {
	if !b.trailKey.Valid() {
		return 0, nil
	}
	s, err := b.st.Settings().Get(ctx)
	if err != nil || s.AuditRetentionDays <= 0 {
		return 0, internal(err, "reading settings")
	}
	before := b.now().Add(-time.Duration(s.AuditRetentionDays) * 24 * time.Hour)
	var n int64
	err = b.st.InTx(ctx, func(tx store.Store) error {
		var err error
		if n, err = tx.AdminEvents().Prune(ctx, b.trailKey, before); err != nil || n == 0 {
			return internal(err, "pruning the admin audit trail")
		}
		e := trail.Event{ActorKind: trail.ActorSystem, ActorName: "retention", Action: trail.TrailPrune,
			Detail: "deleted rows older than " + before.Format(time.RFC3339)}
		return b.record(ctx, tx, e)
	})
	return n, err
}

// RecordMasterPassword appends the master-password change the local
// operator made (the daemon's ChangeMasterPassword, which has no server):
// st is its transaction, key the chain key of the keyring it unlocked.
func RecordMasterPassword(ctx context.Context, st store.Store, key trail.Key, detail string) error {
	e := trail.Event{ActorKind: trail.ActorSystem, ActorName: "local operator", Action: trail.MasterPassword, Detail: detail}
	return appendEvent(ctx, st, key, time.Now().UTC(), e)
}

// TrailKey is the admin trail's chain key derived from kr.
func TrailKey(kr interface{ Derive(string) []byte }) trail.Key {
	return trail.NewKey(kr.Derive(trailKeyLabel))
}

// RecordRefusal records a management request refused with 403 (the
// server calls it for every refused request that is not a GET): route is
// its pattern ("POST /v1/vaults/{name}/users"), vault the {name} in it.
// Like every failure it is written at most once per actor every 10 s.
func (b *Broker) RecordRefusal(ctx context.Context, a Actor, route, vault string, cause error) {
	v := model.Vault{Name: vault}
	if vault != "" {
		if got, err := b.st.Vaults().ByName(ctx, vault); err == nil {
			v = got
		}
	}
	b.recordFailure(ctx, a.event(trail.Refused, v, route), cause)
}
