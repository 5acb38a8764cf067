package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
	"github.com/agent-vault/agent-vault/internal/store"
)

// A proposal's diff is what approving it would change, field by field,
// against the vault as it is now, with the warnings a reviewer must not
// miss. It is computed here once; the pages, the CLI and API clients only
// render it (docs/proposals.md shows what they show).

// vaultState is what a proposal is compared with: the vault's services and
// the names of its credentials, as they are now.
type vaultState struct {
	services []service.Service
	keys     map[string]bool
	bindings map[string][]string // key → the host patterns it is bound to
}

// loadVaultState reads the state a proposal of the vault is compared with.
func loadVaultState(ctx context.Context, st store.Store, vaultID string) (vaultState, error) {
	svcs, err := loadServices(ctx, st, vaultID)
	if err != nil {
		return vaultState{}, err
	}
	keys, err := credentialKeys(ctx, st, vaultID)
	if err != nil {
		return vaultState{}, err
	}
	bindings, err := CredentialBindings(ctx, st, vaultID)
	if err != nil {
		return vaultState{}, err
	}
	return vaultState{services: svcs, keys: keys, bindings: bindings}, nil
}

// bound reports whether credential key's binding covers pattern p, that
// is whether approving would not widen it (approval binds every
// credential of a proposed service to its pattern).
func (st vaultState) bound(key string, p service.Pattern) bool {
	return service.CoveredBy(st.bindings[key], p)
}

// sentBefore reports whether credential key already goes to the host of
// pattern p: whether a current, enabled service with the same host pattern
// (host, wildcard and port; the path aside) references it. A disabled
// service sends nothing, so it does not count. This is the one place that
// decides "a host it has never been sent to".
func (st vaultState) sentBefore(key string, p service.Pattern) bool {
	for _, s := range st.services {
		if s.Enabled && hostOnly(s.Pattern) == hostOnly(p) && slices.Contains(s.ReferencedKeys(), key) {
			return true
		}
	}
	return false
}

// hostOnly is a pattern without its path.
func hostOnly(p service.Pattern) service.Pattern {
	p.Path = ""
	return p
}

// serviceFields are the fields a service diff compares, in the order they
// are shown. Each reads the wire form of a service (defaults made
// explicit); a new service field is one line here.
var serviceFields = []struct {
	name string
	get  func(apitype.Service) []string
}{
	{"host", func(s apitype.Service) []string { return lines(patternPart(s.Host, false)) }},
	{"path scope", func(s apitype.Service) []string { return lines(patternPart(s.Host, true)) }},
	{"enabled", func(s apitype.Service) []string { return lines(yesNo(s.Enabled == nil || *s.Enabled)) }},
	{"auth type", func(s apitype.Service) []string { return lines(s.Auth.Type) }},
	{"headers", injectedHeaders},
	{"credentials used", serviceKeys},
	{"substitutions", substitutionLines},
	{"methods", func(s apitype.Service) []string { return s.Methods }},
	{"paths allowed", func(s apitype.Service) []string {
		if s.Paths == nil {
			return nil
		}
		return s.Paths.Allow
	}},
	{"paths denied", func(s apitype.Service) []string {
		if s.Paths == nil {
			return nil
		}
		return s.Paths.Deny
	}},
	{"plaintext http", func(s apitype.Service) []string {
		if !s.AllowPlaintext {
			return nil
		}
		return lines("allowed")
	}},
	{"response redaction", redactionLines},
}

// proposalDiff compares a proposal's changes with the vault state st. It
// is pure: the same inputs give the same diff.
func proposalDiff(st vaultState, changes proposalChanges) *apitype.ProposalDiff {
	d := &apitype.ProposalDiff{Services: []apitype.ServiceChange{}, Credentials: []apitype.CredentialChange{}, Warnings: []apitype.ProposalWarning{}}
	warn := func(w apitype.ProposalWarning) { d.Warnings = append(d.Warnings, w) }
	for _, s := range changes.services {
		cur, found := serviceNamed(st.services, s.name)
		var before, after *apitype.Service
		if found {
			b := cur.ToAPI()
			before = &b
		}
		ch := apitype.ServiceChange{Name: s.name}
		switch s.action {
		case model.ProposalDelete:
			if !found {
				ch.Change = apitype.ChangeUnchanged // already gone: approving removes nothing
				break
			}
			ch.Change = apitype.ChangeRemove
			warn(apitype.ProposalWarning{Code: apitype.WarnRemovesService, Service: s.name, Host: cur.Pattern.String(),
				Message: "removes service " + s.name + " (" + cur.Pattern.String() + ")"})
		default:
			a := s.svc.ToAPI()
			after = &a
			ch.Change = apitype.ChangeAdd
			if found {
				ch.Change = apitype.ChangeUpdate
			}
			p, err := service.ParsePattern(a.Host)
			if err != nil {
				break // reported as a conflict below
			}
			for _, k := range serviceKeys(a) {
				switch {
				case !st.keys[k]:
				case !st.sentBefore(k, p):
					host := hostOnly(p).String()
					warn(apitype.ProposalWarning{Code: apitype.WarnNewHost, Service: s.name, Key: k, Host: host,
						Message: k + " would be sent to a host it has never been sent to: " + host + " (service " + s.name + ")"})
				case !st.bound(k, p):
					// A service already there, but the binding does not
					// cover it (a wider path, or a service an agent made for
					// a value since replaced): approving widens the binding.
					warn(apitype.ProposalWarning{Code: apitype.WarnNewHost, Service: s.name, Key: k, Host: p.String(),
						Message: k + " is not bound to " + p.String() + ": approving lets it be sent there (service " + s.name + ")"})
				}
			}
		}
		if after != nil && s.svc.Auth.Type != service.AuthBasic {
			for h, shape := range s.svc.Auth.HeaderShapes() {
				if plainShape.MatchString(shape) || shapeInUse(st.services, s.svc.Pattern, h, shape) || !shapeHoldsKnownKey(shape, st.keys) {
					continue
				}
				warn(apitype.ProposalWarning{Code: apitype.WarnWrappedValue, Service: s.name, Host: s.svc.Pattern.String(),
					Message: "header " + h + " would carry a credential inside text the agent chose: " + shape + " (service " + s.name + "); an upstream that acts on that text (a callback URL) would send it on"})
			}
		}
		if after != nil {
			for _, sub := range s.svc.Substitutions {
				if !st.keys[sub.Key] {
					continue // a credential the proposal creates: its value is given for this use
				}
				var fresh []string
				for _, surf := range sub.In {
					if !surfaceInUse(st.services, s.svc.Pattern, sub.Key, surf) {
						fresh = append(fresh, string(surf))
					}
				}
				if len(fresh) > 0 {
					warn(apitype.ProposalWarning{Code: apitype.WarnNewSurface, Service: s.name, Key: sub.Key, Host: s.svc.Pattern.String(), Surfaces: fresh,
						Message: sub.Key + " would be written into the request's " + strings.Join(fresh, " and ") + " wherever the agent puts " + sub.Placeholder +
							" (service " + s.name + "): an upstream that stores it there would let the agent read it back"})
				}
			}
		}
		ch.Fields = compareFields(before, after)
		if ch.Change == apitype.ChangeUpdate && !anyChanged(ch.Fields) {
			ch.Change = apitype.ChangeUnchanged
		}
		d.Services = append(d.Services, ch)
	}
	for _, c := range changes.credentials {
		cc := apitype.CredentialChange{Key: c.Key, Exists: st.keys[c.Key]}
		switch {
		case c.Action == model.ProposalDelete:
			cc.Change = apitype.ChangeDelete
			if cc.Exists {
				warn(apitype.ProposalWarning{Code: apitype.WarnDeletesValue, Key: c.Key, Message: "deletes credential " + c.Key + " and its current value"})
			}
		case cc.Exists:
			cc.Change = apitype.ChangeReplace
			warn(apitype.ProposalWarning{Code: apitype.WarnReplacesValue, Key: c.Key, Message: "replaces the current value of " + c.Key})
		default:
			cc.Change = apitype.ChangeAdd
		}
		d.Credentials = append(d.Credentials, cc)
	}
	if err := dryRunApproval(st, changes); err != nil {
		warn(apitype.ProposalWarning{Code: apitype.WarnConflict, Message: errMessage(err)})
	}
	body, _ := json.Marshal(d)
	sum := sha256.Sum256(body)
	d.Fingerprint = hex.EncodeToString(sum[:16])
	return d
}

// checkDiffShown refuses an approval whose reviewer saw a diff other than
// the one approving would apply now (fingerprint "" skips the check).
func checkDiffShown(st vaultState, id int64, changes proposalChanges, fingerprint string) error {
	if fingerprint == "" {
		return nil
	}
	if proposalDiff(st, changes).Fingerprint != fingerprint {
		return errs.Conflict("the vault changed since proposal %d was shown to you, so what it changes is no longer what you saw: nothing was changed; review it again", id).WithCode("proposal_changed")
	}
	return nil
}

// dryRunApproval runs the checks approval runs (applyProposal) on the
// state approval would leave, and returns the error approving now would
// meet, or nil.
func dryRunApproval(st vaultState, changes proposalChanges) error {
	have := make(map[string]bool, len(st.keys)+len(changes.credentials))
	for k := range st.keys {
		have[k] = true
	}
	for _, c := range changes.credentials {
		have[c.Key] = c.Action != model.ProposalDelete
	}
	next, _ := planServices(st.services, changes.services)
	return checkServiceSet(next, have)
}

func serviceNamed(svcs []service.Service, name string) (service.Service, bool) {
	for _, s := range svcs {
		if s.Name == name {
			return s, true
		}
	}
	return service.Service{}, false
}

// compareFields lists every field set on either side; nil is no service.
func compareFields(before, after *apitype.Service) []apitype.FieldChange {
	out := []apitype.FieldChange{}
	for _, f := range serviceFields {
		var b, a []string
		if before != nil {
			b = f.get(*before)
		}
		if after != nil {
			a = f.get(*after)
		}
		if len(b) == 0 && len(a) == 0 {
			continue
		}
		out = append(out, apitype.FieldChange{Field: f.name, Before: nonNil(b), After: nonNil(a), Changed: !slices.Equal(b, a)})
	}
	return out
}

func anyChanged(fs []apitype.FieldChange) bool {
	for _, f := range fs {
		if f.Changed {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// patternPart is the host part of a host pattern, or its path scope
// ("all paths" when it has none).
func patternPart(host string, path bool) string {
	if host == "" {
		return ""
	}
	p, err := service.ParsePattern(host)
	if err != nil {
		if path {
			return ""
		}
		return host
	}
	if !path {
		return hostOnly(p).String()
	}
	if p.Path == "" {
		return "all paths"
	}
	return p.Path
}

// injectedHeaders describes each header the service sets, with credential
// key names where values go: "Authorization: Bearer {{ KEY }}".
func injectedHeaders(s apitype.Service) []string {
	a := s.Auth
	ref := func(k string) string { return "{{ " + k + " }}" }
	switch service.AuthType(a.Type) {
	case service.AuthBearer:
		return []string{"Authorization: Bearer " + ref(a.Token)}
	case service.AuthBasic:
		pw := ""
		if a.Password != "" {
			pw = ref(a.Password)
		}
		return []string{"Authorization: Basic base64(" + ref(a.Username) + ":" + pw + ")"}
	case service.AuthAPIKey:
		h := a.Header
		if h == "" {
			h = service.DefaultAPIKeyHeader
		}
		return []string{h + ": " + a.Prefix + ref(a.Key)}
	case service.AuthCustom:
		names := make([]string, 0, len(a.Headers))
		for n := range a.Headers {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = n + ": " + a.Headers[n]
		}
		return out
	}
	return nil
}

// serviceKeys is every credential key the service references.
func serviceKeys(s apitype.Service) []string {
	if v, err := service.FromAPI(s, ""); err == nil {
		return v.ReferencedKeys()
	}
	var ks []string
	for _, k := range []string{s.Auth.Token, s.Auth.Username, s.Auth.Password, s.Auth.Key} {
		if k != "" && !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	for _, sub := range s.Substitutions {
		if !slices.Contains(ks, sub.Key) {
			ks = append(ks, sub.Key)
		}
	}
	sort.Strings(ks)
	return ks
}

// substitutionLines describes each substitution: placeholder, key, surfaces.
func substitutionLines(s apitype.Service) []string {
	var out []string
	for _, sub := range s.Substitutions {
		out = append(out, sub.Placeholder+" → "+sub.Key+" in "+strings.Join(sub.In, ", "))
	}
	return out
}

// withDiff adds the diff to a pending proposal's view; states caches the
// vault state by vault id across the proposals of one answer.
func withDiff(ctx context.Context, st store.Store, p model.Proposal, changes proposalChanges, v *apitype.Proposal, states map[string]vaultState) error {
	if v.Status != string(model.ProposalPending) {
		return nil
	}
	s, ok := states[p.VaultID]
	if !ok {
		var err error
		if s, err = loadVaultState(ctx, st, p.VaultID); err != nil {
			return err
		}
		states[p.VaultID] = s
	}
	v.Diff = proposalDiff(s, changes)
	return nil
}

// redactionLines shows response redaction only when a user turned it off
// (a proposal cannot), so that approving an update that turns it back on
// shows the change.
func redactionLines(s apitype.Service) []string {
	if s.RedactResponses != nil && !*s.RedactResponses {
		return lines("off")
	}
	return nil
}
