package broker

import (
	"context"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/keyring"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/policy"
	"github.com/agent-vault/agent-vault/internal/secret"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
	"github.com/agent-vault/agent-vault/internal/token"
	"github.com/agent-vault/agent-vault/internal/trail"
)

// Proposal limits (docs/protocol.md, "Limits").
const (
	maxProposalServices    = 10
	maxProposalCredentials = 10
	maxMessage             = 2000
	maxUserMessage         = 5000
	maxDescription         = 500
	maxObtain              = 500
	maxObtainInstructions  = 1000
	maxRejectReason        = 2000
)

// proposalValueAD binds an agent-supplied value to its proposal and key.
func proposalValueAD(vaultID string, approvalHash []byte, key string) []byte {
	return keyring.AD("proposal-value", vaultID, hex.EncodeToString(approvalHash), key)
}

// checkLen refuses a text over max characters, naming the field.
func checkLen(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return errs.Invalid(field, "%s is %d characters long; the limit is %d", field, n, max)
	}
	return nil
}

// changesFromRequest checks a request against the vault's current state
// and turns it into the proposal's changes. It also fills in the request
// what it resolved (set-service names from unique hosts, a deleted
// service's name and host) for the notification email.
func changesFromRequest(in *apitype.CreateProposalRequest, cur []service.Service, have map[string]bool) (proposalChanges, error) {
	var out proposalChanges
	if len(in.Services) == 0 && len(in.Credentials) == 0 {
		return out, errs.Invalid("services", "a proposal needs at least one service or credential change")
	}
	if len(in.Services) > maxProposalServices {
		return out, errs.Invalid("services", "a proposal holds at most %d services (got %d)", maxProposalServices, len(in.Services))
	}
	if len(in.Credentials) > maxProposalCredentials {
		return out, errs.Invalid("credentials", "a proposal holds at most %d credential slots (got %d)", maxProposalCredentials, len(in.Credentials))
	}
	if err := checkLen("message", in.Message, maxMessage); err != nil {
		return out, err
	}
	if err := checkLen("user_message", in.UserMessage, maxUserMessage); err != nil {
		return out, err
	}
	slots := map[string]model.ProposalAction{}
	for i := range in.Credentials {
		c := &in.Credentials[i]
		f := "credentials[" + strconv.Itoa(i) + "]"
		if err := model.ValidateCredentialKey(f+".key", c.Key); err != nil {
			return out, err
		}
		if _, dup := slots[c.Key]; dup {
			return out, errs.Invalid(f+".key", "credential %s appears twice in this proposal", c.Key)
		}
		for _, lim := range []struct {
			field, v string
			max      int
		}{{".description", c.Description, maxDescription}, {".obtain", c.Obtain, maxObtain}, {".obtain_instructions", c.ObtainInstructions, maxObtainInstructions}} {
			if err := checkLen(f+lim.field, lim.v, lim.max); err != nil {
				return out, err
			}
		}
		act, ok := model.ParseProposalAction(c.Action)
		if !ok {
			return out, errs.Invalid(f+".action", "action must be \"set\" or \"delete\", not %q", c.Action)
		}
		slots[c.Key] = act
		slot := model.ProposedCredential{Action: act, Key: c.Key, Description: c.Description, Obtain: c.Obtain, ObtainInstructions: c.ObtainInstructions}
		switch act {
		case model.ProposalSet:
			switch c.Type {
			case "", string(model.CredentialStatic):
				slot.Type = model.CredentialStatic
				if c.OAuth != nil {
					return out, errs.Invalid(f+".oauth", "oauth settings need type \"oauth\"")
				}
			case string(model.CredentialOAuth):
				slot.Type = model.CredentialOAuth
				var err error
				if slot.OAuth, err = proposedOAuthSlot(f, c); err != nil {
					return out, err
				}
			default:
				return out, errs.Invalid(f+".type", "type must be \"static\" or \"oauth\", not %q", c.Type)
			}
			c.Type = string(slot.Type)
			if c.Value != nil && (*c.Value == "" || len(*c.Value) > maxCredentialValue) {
				return out, errs.Invalid(f+".value", "value must be 1 to %d bytes", maxCredentialValue)
			}
		case model.ProposalDelete:
			if !have[c.Key] {
				return out, errs.Invalid(f+".key", "credential %s does not exist in this vault, so it cannot be deleted", c.Key)
			}
			if c.Value != nil || c.OAuth != nil {
				return out, errs.Invalid(f+".value", "a delete slot takes no value")
			}
		}
		out.credentials = append(out.credentials, slot)
	}
	names := map[string]int{}
	for i := range in.Services {
		s := &in.Services[i]
		f := "services[" + strconv.Itoa(i) + "]"
		act, ok := model.ParseProposalAction(s.Action)
		if !ok {
			return out, errs.Invalid(f+".action", "action must be \"set\" or \"delete\", not %q", s.Action)
		}
		change := serviceChange{action: act}
		switch act {
		case model.ProposalSet:
			if s.Name == "" {
				if s.Host == "" {
					return out, errs.Invalid(f+".name", "a service needs a name (or a host naming one existing service)")
				}
				c := service.Ambiguous(cur, s.Host)
				switch len(c) {
				case 0:
					return out, errs.Invalid(f+".name", "no existing service has host %q: give the new service a name", s.Host)
				case 1:
					s.Name = c[0].Name
				default:
					return out, ambiguousHost(s.Host, c)
				}
			}
			if s.Auth == nil {
				return out, errs.Invalid(f+".auth", "a service to set needs auth")
			}
			change.spec = proposedService(*s)
			svc, err := service.FromAPI(change.spec, f)
			if err == nil {
				err = service.CheckPathEscapes(svc, f)
			}
			if err != nil {
				return out, err
			}
			change.svc, change.name, change.host = svc, svc.Name, s.Host
			for _, k := range svc.ReferencedKeys() {
				act, slotted := slots[k]
				if act == model.ProposalDelete || (!slotted && !have[k]) {
					return out, errs.Invalid(f+".auth", "service %q references credential %s, which neither exists in the vault nor is set by this proposal: add a credential slot for it", s.Name, k)
				}
			}
		case model.ProposalDelete:
			ref := s.Name
			if ref == "" {
				ref = s.Host
			}
			if ref == "" {
				return out, errs.Invalid(f+".name", "name (or host) of the service to delete is required")
			}
			c := service.Ambiguous(cur, ref)
			switch len(c) {
			case 0:
				return out, errs.Invalid(f+".name", "no service %q in this vault", ref)
			case 1:
				s.Name, s.Host = c[0].Name, c[0].Host
			default:
				return out, ambiguousHost(ref, c)
			}
			change.name, change.host = s.Name, s.Host
		}
		if j, dup := names[s.Name]; dup {
			return out, errs.Invalid(f+".name", "service %s appears twice in this proposal (also services[%d])", s.Name, j)
		}
		names[s.Name] = i
		out.services = append(out.services, change)
	}
	return out, nil
}

func ambiguousHost(host string, c []service.Candidate) error {
	cands := make([]apitype.ServiceCandidate, len(c))
	for i, x := range c {
		cands[i] = x.ToAPI()
	}
	return errs.Conflict("multiple services match host %q: name the service", host).WithCode("ambiguous_service").WithDetails(cands)
}

func isHTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// CreateProposal stores an agent's (or user's) change request for the
// vault chosen as for /discover, and returns the approval URL.
func (b *Broker) CreateProposal(ctx context.Context, a Actor, hint string, in apitype.CreateProposalRequest) (apitype.ProposalCreated, error) {
	if hint == "" {
		hint = in.Vault
	}
	name, err := b.AgentVault(ctx, a, hint)
	if err != nil {
		return apitype.ProposalCreated{}, err
	}
	tok := token.New(token.PrefixApproval)
	hash := token.Hash(tok)
	var out apitype.ProposalCreated
	var vault model.Vault
	var diff *apitype.ProposalDiff
	err = b.tx(ctx, func(tx store.Store) error {
		v, _, err := b.vaultAuthorized(ctx, tx, a, name, policy.RaiseProposal)
		if err != nil {
			return err
		}
		vault = v
		cur, err := loadServices(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		have, err := credentialKeys(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		changes, err := changesFromRequest(&in, cur, have)
		if err != nil {
			return err
		}
		bindings, err := CredentialBindings(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		diff = proposalDiff(vaultState{services: cur, keys: have, bindings: bindings}, changes)
		now := b.now()
		n, err := tx.Proposals().CountPending(ctx, v.ID, now)
		if err != nil {
			return internal(err, "counting proposals")
		}
		if n >= model.MaxPendingProposals {
			return (&errs.Error{Kind: errs.KindRateLimited, Code: "too_many_proposals",
				Message: "vault " + v.Name + " already has " + strconv.Itoa(n) + " pending proposals, the most allowed: wait for a human to approve or reject some"})
		}
		accountable, err := accountableAgent(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := agentProposalQuota(ctx, tx, a, accountable, v, now); err != nil {
			return err
		}
		sealed := map[string][]byte{}
		for i := range in.Credentials {
			c := &in.Credentials[i]
			if c.Value != nil {
				ct, err := b.kr.Seal(secret.FromString(*c.Value), proposalValueAD(v.ID, hash, c.Key))
				if err != nil {
					return errs.Internal(err, "encrypting a proposed value")
				}
				sealed[c.Key] = ct
				changes.credentials[i].HasValue = true // the value lives only sealed
				c.Value = nil
			}
		}
		svcDoc, credDoc, err := encodeProposal(changes)
		if err != nil {
			return errs.Internal(err, "encoding the proposal")
		}
		kind, id := a.Kind, creatorID(a)
		p := model.Proposal{
			VaultID: v.ID, Status: model.ProposalPending, ServicesDoc: svcDoc, CredentialsDoc: credDoc,
			Message: in.Message, UserMessage: in.UserMessage, CreatedByKind: kind, CreatedByID: id, CreatedByName: a.Name(),
			ApprovalTokenHash: hash, ApprovalExpiresAt: now.Add(model.ApprovalTokenTTL), CreatedAt: now,
			ExpiresAt: now.Add(model.ProposalTTL), SealedValues: sealed, AccountableAgentID: accountable,
		}
		pid, err := tx.Proposals().Create(ctx, p)
		if err != nil {
			return internal(err, "saving the proposal")
		}
		link := strings.TrimRight(b.baseURL, "/") + "/approve/" + strconv.FormatInt(pid, 10) + "?token=" + tok
		out = apitype.ProposalCreated{ID: pid, Status: string(model.ProposalPending), Vault: v.Name, ApprovalURL: link,
			Message: "Proposal created. Approve here: " + link, ExpiresAt: p.ExpiresAt}
		return b.record(ctx, tx, a.event(trail.ProposalCreate, v, "proposal:"+strconv.FormatInt(pid, 10)))
	})
	if err == nil {
		b.notifyProposal(a, vault, in, out, diff)
	}
	return out, err
}

// creatorID identifies who raised a proposal (never a token).
func creatorID(a Actor) string {
	switch {
	case a.Scope != nil:
		return "session:" + a.Scope.ID
	case a.Kind == model.ActorAgent:
		return a.Agent.ID
	}
	return a.User.ID
}

// proposalView renders a stored proposal and returns its changes; a row
// that cannot be read is an error.
func (b *Broker) proposalView(p model.Proposal) (apitype.Proposal, proposalChanges, error) {
	changes, err := decodeProposal(p)
	if err != nil {
		b.log.Error("reading a stored proposal", "proposal", p.ID, "err", err)
		return apitype.Proposal{}, changes, err
	}
	out := apitype.Proposal{
		ID: p.ID, Status: string(p.StatusAt(b.now())), Vault: p.VaultName,
		Message: p.Message, UserMessage: p.UserMessage, CreatedBy: p.CreatedByName, CreatedByType: string(p.CreatedByKind),
		CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, DecidedAt: p.DecidedAt, DecidedBy: p.DecidedBy, RejectionReason: p.RejectionReason,
	}
	out.Services, out.Credentials = changesToAPI(changes)
	return out, changes, nil
}

// proposalWithDiff renders a stored proposal with its diff against the
// vault as it is now (pending proposals only).
func (b *Broker) proposalWithDiff(ctx context.Context, p model.Proposal) (apitype.Proposal, error) {
	v, changes, err := b.proposalView(p)
	if err != nil {
		return v, err
	}
	if err := withDiff(ctx, b.st, p, changes, &v, map[string]vaultState{}); err != nil {
		return apitype.Proposal{}, err
	}
	return v, nil
}

// loadProposal reads a proposal and checks the actor may see it (any role
// in its vault).
func (b *Broker) loadProposal(ctx context.Context, st store.Store, a Actor, id int64, act policy.Action) (model.Proposal, error) {
	p, err := st.Proposals().Get(ctx, id)
	if err != nil {
		return p, notFound(err, "proposal %d not found", id)
	}
	r, err := b.roleIn(ctx, st, a, p.VaultID)
	if err != nil {
		return p, err
	}
	if r == "" {
		return p, errs.NotFound("proposal %d not found", id)
	}
	return p, authorize(a, r, act)
}

// GetProposal shows one proposal to any actor with access to its vault.
func (b *Broker) GetProposal(ctx context.Context, a Actor, id int64) (apitype.Proposal, error) {
	p, err := b.loadProposal(ctx, b.st, a, id, policy.RaiseProposal)
	if err != nil {
		return apitype.Proposal{}, err
	}
	v, err := b.proposalWithDiff(ctx, p)
	if err != nil {
		return v, err
	}
	vr, err := b.roleIn(ctx, b.st, a, p.VaultID)
	if !mayViewPeople(a, vr) {
		hideProposalPeople(&v)
	}
	return v, err
}

// ListProposals lists a vault's proposals (chosen as for /discover).
func (b *Broker) ListProposals(ctx context.Context, a Actor, hint, status string) (apitype.ProposalList, error) {
	out := apitype.ProposalList{Proposals: []apitype.Proposal{}}
	name, err := b.AgentVault(ctx, a, hint)
	if err != nil {
		return out, err
	}
	v, vr, err := b.vaultAuthorized(ctx, b.st, a, name, policy.RaiseProposal)
	if err != nil {
		return out, err
	}
	out, err = b.listProposals(ctx, []string{v.ID}, status)
	if !mayViewPeople(a, vr) {
		for i := range out.Proposals {
			hideProposalPeople(&out.Proposals[i])
		}
	}
	return out, err
}

// listProposals lists proposals of the given vaults with a status filter
// applied after expiry; "all", like no status, lists every status.
func (b *Broker) listProposals(ctx context.Context, vaultIDs []string, status string) (apitype.ProposalList, error) {
	out := apitype.ProposalList{Proposals: []apitype.Proposal{}}
	if status == apitype.ProposalStatusAll {
		status = ""
	}
	if _, ok := model.ParseProposalStatus(status); !ok && status != "" {
		return out, errs.Invalid("status", "status must be pending, applied, rejected, expired or all, not %q", status)
	}
	if status != "" {
		// Overdue proposals become expired first, so the status filter can
		// run in the database and never hides an old pending one.
		if _, err := b.ExpireProposals(ctx); err != nil {
			return out, internal(err, "expiring proposals")
		}
	}
	states := map[string]vaultState{}
	for _, vid := range vaultIDs {
		ps, err := b.st.Proposals().List(ctx, store.ProposalFilter{VaultID: vid, Status: model.ProposalStatus(status), Limit: 500})
		if err != nil {
			return out, internal(err, "listing proposals")
		}
		for _, p := range ps {
			v, changes, err := b.proposalView(p)
			if err != nil {
				return out, err
			}
			if status != "" && v.Status != status {
				continue
			}
			if err := withDiff(ctx, b.st, p, changes, &v, states); err != nil {
				return out, err
			}
			out.Proposals = append(out.Proposals, v)
		}
	}
	return out, nil
}

// AdminListProposals lists proposals of every vault the user reviews
// (member+), or one vault.
func (b *Broker) AdminListProposals(ctx context.Context, a Actor, vault, status string) (apitype.ProposalList, error) {
	if !a.IsUser() {
		return apitype.ProposalList{}, errs.Forbidden("only a logged-in user may review proposals; agent tokens never can")
	}
	var ids []string
	if vault != "" {
		v, _, err := b.vaultAuthorized(ctx, b.st, a, vault, policy.ReviewProposal)
		if err != nil {
			return apitype.ProposalList{}, err
		}
		ids = []string{v.ID}
	} else {
		gs, err := b.st.Grants().ListByUser(ctx, a.User.ID)
		if err != nil {
			return apitype.ProposalList{}, internal(err, "listing your vaults")
		}
		for _, g := range gs {
			if authorize(a, g.Role, policy.ReviewProposal) == nil {
				ids = append(ids, g.VaultID)
			}
		}
	}
	out, err := b.listProposals(ctx, ids, status)
	for i := range out.Proposals {
		withDocuments(&out.Proposals[i])
	}
	return out, err
}

// AdminGetProposal shows one proposal to a reviewer.
func (b *Broker) AdminGetProposal(ctx context.Context, a Actor, id int64) (apitype.Proposal, error) {
	p, err := b.loadProposal(ctx, b.st, a, id, policy.ReviewProposal)
	if err != nil {
		return apitype.Proposal{}, err
	}
	v, err := b.proposalWithDiff(ctx, p)
	withDocuments(&v)
	return v, err
}

// ApprovalDetails is the read-only view an approval link gives. The token
// grants nothing else.
func (b *Broker) ApprovalDetails(ctx context.Context, tok string, id int64) (apitype.Proposal, error) {
	if !token.HasPrefix(tok, token.PrefixApproval) {
		return apitype.Proposal{}, errs.NotFound("proposal not found: check the approval link")
	}
	p, err := b.st.Proposals().ByApprovalHash(ctx, token.Hash(tok))
	if err != nil || (id != 0 && p.ID != id) {
		return apitype.Proposal{}, errs.NotFound("proposal not found: check the approval link")
	}
	if !b.now().Before(p.ApprovalExpiresAt) {
		return apitype.Proposal{}, errs.Gone("this approval link has expired: list pending proposals with `agent-vault vault proposal list`").WithCode("approval_expired")
	}
	// The link goes to the requester, often an agent: it names no one.
	v, err := b.proposalWithDiff(ctx, p)
	hideProposalPeople(&v)
	return v, err
}

// pendingForDecision loads a proposal a user is about to decide on.
func (b *Broker) pendingForDecision(ctx context.Context, tx store.Store, a Actor, id int64) (model.Proposal, error) {
	if !a.IsUser() {
		return model.Proposal{}, errs.Forbidden("only a logged-in user may approve or reject proposals; agent tokens never can")
	}
	p, err := b.loadProposal(ctx, tx, a, id, policy.ReviewProposal)
	if err != nil {
		return p, err
	}
	if st := p.StatusAt(b.now()); st != model.ProposalPending {
		return p, errs.Conflict("proposal %d is already %s", id, st).WithCode("proposal_" + string(st))
	}
	return p, nil
}

// RejectProposal rejects a pending proposal with a reason.
func (b *Broker) RejectProposal(ctx context.Context, a Actor, id int64, in apitype.RejectProposalRequest) (apitype.ProposalDecided, error) {
	if err := checkLen("reason", in.Reason, maxRejectReason); err != nil {
		return apitype.ProposalDecided{}, err
	}
	var out apitype.ProposalDecided
	err := b.tx(ctx, func(tx store.Store) error {
		p, err := b.pendingForDecision(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := tx.Proposals().Decide(ctx, id, model.ProposalRejected, a.Name(), in.Reason, b.now()); err != nil {
			return decideErr(err, id)
		}
		out = apitype.ProposalDecided{ID: id, Status: string(model.ProposalRejected), Vault: p.VaultName, Message: "Proposal rejected."}
		return b.record(ctx, tx, a.event(trail.ProposalReject, model.Vault{ID: p.VaultID, Name: p.VaultName}, "proposal:"+strconv.FormatInt(id, 10)))
	})
	return out, err
}

func decideErr(err error, id int64) error {
	if errors.Is(err, store.ErrConflict) {
		return errs.Conflict("proposal %d was decided by someone else just now", id)
	}
	return internal(err, "deciding the proposal")
}

// ApproveProposal applies every change of a pending proposal in one
// transaction, or none.
func (b *Broker) ApproveProposal(ctx context.Context, a Actor, id int64, in apitype.ApproveProposalRequest) (apitype.ProposalDecided, error) {
	var out apitype.ProposalDecided
	err := b.tx(ctx, func(tx store.Store) error {
		p, err := b.pendingForDecision(ctx, tx, a, id)
		if err != nil {
			return err
		}
		changes, err := decodeProposal(p)
		if err != nil {
			b.log.Error("reading a stored proposal", "proposal", p.ID, "err", err)
			return err
		}
		if in.Diff != "" {
			st, err := loadVaultState(ctx, tx, p.VaultID)
			if err != nil {
				return err
			}
			if err := checkDiffShown(st, id, changes, in.Diff); err != nil {
				return err
			}
		}
		for k := range in.Credentials {
			if c, ok := changes.slotFor(k); !ok || c.Action != model.ProposalSet || c.Type == model.CredentialOAuth {
				return errs.Invalid("credentials."+k, "proposal %d has no slot for %s to fill", id, k)
			}
		}
		applied, err := b.applyProposal(ctx, tx, p, changes, in.Credentials)
		if err != nil {
			return err
		}
		if err := b.bindProposalServices(ctx, tx, a, p, changes); err != nil {
			return err
		}
		if err := tx.Proposals().Decide(ctx, id, model.ProposalApplied, a.Name(), "", b.now()); err != nil {
			return decideErr(err, id)
		}
		out = apitype.ProposalDecided{ID: id, Status: string(model.ProposalApplied), Vault: p.VaultName, Applied: applied, Message: "Proposal approved and applied."}
		return b.record(ctx, tx, with(a.event(trail.ProposalApprove, model.Vault{ID: p.VaultID, Name: p.VaultName}, "proposal:"+strconv.FormatInt(id, 10)), strings.Join(applied, "; ")))
	})
	return out, err
}

// applyProposal writes a proposal's changes: credentials first, then the
// services, then checks the result is a valid set whose keys all exist.
func (b *Broker) applyProposal(ctx context.Context, tx store.Store, p model.Proposal, changes proposalChanges, values map[string]string) ([]string, error) {
	now := b.now()
	var applied []string
	for _, c := range changes.credentials {
		field := "credentials." + c.Key
		switch c.Action {
		case model.ProposalDelete:
			if err := tx.Credentials().Delete(ctx, p.VaultID, c.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, internal(err, "deleting a credential")
			}
			applied = append(applied, "deleted credential "+c.Key)
		case model.ProposalSet:
			var val secret.Bytes
			typ := c.Type
			switch {
			case typ == model.CredentialOAuth:
				done, err := b.applyOAuthSlot(ctx, tx, p, c)
				if err != nil {
					return nil, err
				}
				applied = append(applied, done)
				continue
			case values[c.Key] != "":
				val = secret.FromString(values[c.Key])
			case p.SealedValues[c.Key] != nil:
				v, err := b.kr.Open(p.SealedValues[c.Key], proposalValueAD(p.VaultID, p.ApprovalTokenHash, c.Key))
				if err != nil {
					return nil, errs.Internal(err, "decrypting a proposed value")
				}
				val = v
			default:
				return nil, errs.Invalid(field, "credential %s needs a value: supply it to approve", c.Key)
			}
			if len(val.Reveal()) > maxCredentialValue {
				return nil, errs.Invalid(field, "the value of %s is longer than %d bytes", c.Key, maxCredentialValue)
			}
			ct, err := b.kr.Seal(val, credentialAD(p.VaultID, c.Key))
			val.Wipe()
			if err != nil {
				return nil, errs.Internal(err, "encrypting a credential")
			}
			if err := tx.Credentials().Put(ctx, model.Credential{VaultID: p.VaultID, Key: c.Key, Type: typ, Ciphertext: ct, CreatedAt: now, UpdatedAt: now,
				WrittenBy: "proposal:" + strconv.FormatInt(p.ID, 10)}); err != nil {
				return nil, internal(err, "saving a credential")
			}
			applied = append(applied, "set credential "+c.Key)
		}
	}
	cur, err := loadServices(ctx, tx, p.VaultID)
	if err != nil {
		return nil, err
	}
	next, done := planServices(cur, changes.services)
	applied = append(applied, done...)
	have, err := credentialKeys(ctx, tx, p.VaultID)
	if err != nil {
		return nil, err
	}
	if err := checkServiceSet(next, have); err != nil {
		return nil, err
	}
	if err := b.saveServices(ctx, tx, p.VaultID, next); err != nil {
		return nil, err
	}
	return applied, nil
}

// planServices applies a proposal's service changes to a copy of cur and
// says what each did, in words. It does not check the result (see
// checkServiceSet).
func planServices(cur []service.Service, changes []serviceChange) ([]service.Service, []string) {
	next := slices.Clone(cur)
	var applied []string
	for _, s := range changes {
		switch s.action {
		case model.ProposalSet:
			replaced := false
			for j := range next {
				if next[j].Name == s.svc.Name {
					next[j], replaced = s.svc, true
				}
			}
			if !replaced {
				next = append(next, s.svc)
			}
			applied = append(applied, "set service "+s.svc.Name+" ("+s.svc.Pattern.String()+")")
		case model.ProposalDelete:
			for j := range next {
				if next[j].Name == s.name {
					next = slices.Delete(next, j, j+1)
					applied = append(applied, "removed service "+s.name)
					break
				}
			}
		}
	}
	return next, applied
}

// checkServiceSet refuses a service set approval must not leave: one that
// breaks a set rule, or a service whose credential is not in have.
func checkServiceSet(svcs []service.Service, have map[string]bool) error {
	if err := service.ValidateSet(svcs); err != nil {
		return errs.Conflict("approving would leave an invalid service set: %s", errMessage(err))
	}
	for _, s := range svcs {
		for _, k := range s.ReferencedKeys() {
			if !have[k] {
				return errs.Conflict("approving would leave service %q without its credential %s", s.Name, k)
			}
		}
	}
	return nil
}

func errMessage(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Message
	}
	return err.Error()
}

// ExpireProposals marks overdue pending proposals expired (sweeper).
func (b *Broker) ExpireProposals(ctx context.Context) (int64, error) {
	n, err := b.st.Proposals().ExpireBefore(ctx, b.now())
	if n > 0 {
		b.changed()
	}
	return n, err
}
