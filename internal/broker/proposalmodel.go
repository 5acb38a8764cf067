package broker

import (
	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// proposalChanges is what a proposal asks for, in the broker's own types:
// the one form that validation produces, the store keeps (proposalstore.go),
// and diffing, approval and binding read. The API's types appear only
// where a request comes in (changesFromRequest) or a view goes out
// (changesToAPI).
type proposalChanges struct {
	services    []serviceChange
	credentials []model.ProposedCredential
}

// serviceChange is one service change: set (upsert by name) or delete.
type serviceChange struct {
	action model.ProposalAction
	name   string
	host   string // delete: the host the service had when proposed
	// set only: the service as the requester wrote it (its stored form,
	// as services are stored) and the same, parsed and validated.
	spec apitype.Service
	svc  service.Service
}

// slotFor is the credential slot of key, if the proposal has one.
func (c proposalChanges) slotFor(key string) (model.ProposedCredential, bool) {
	for _, s := range c.credentials {
		if s.Key == key {
			return s, true
		}
	}
	return model.ProposedCredential{}, false
}

// proposedService is the stored form of a proposed set service: a set
// replaces the whole service, so what it omits it removes.
func proposedService(s apitype.ProposalService) apitype.Service {
	out := apitype.Service{Name: s.Name, Host: s.Host, Enabled: s.Enabled, Substitutions: s.Substitutions,
		AllowPlaintext: s.AllowPlaintext, Methods: s.Methods, Paths: s.Paths}
	if s.Auth != nil {
		out.Auth = *s.Auth
	}
	return out
}

// changesToAPI renders a proposal's changes for the API.
func changesToAPI(c proposalChanges) ([]apitype.ProposalService, []apitype.ProposalCredential) {
	svcs := make([]apitype.ProposalService, len(c.services))
	for i, s := range c.services {
		svcs[i] = serviceChangeToAPI(s)
	}
	creds := make([]apitype.ProposalCredential, len(c.credentials))
	for i, s := range c.credentials {
		creds[i] = credentialToAPI(s)
	}
	return svcs, creds
}

func serviceChangeToAPI(s serviceChange) apitype.ProposalService {
	if s.action != model.ProposalSet {
		return apitype.ProposalService{Action: string(s.action), Name: s.name, Host: s.host}
	}
	auth := s.spec.Auth
	return apitype.ProposalService{Action: string(s.action), Name: s.spec.Name, Host: s.spec.Host, Enabled: s.spec.Enabled,
		Auth: &auth, Substitutions: s.spec.Substitutions, AllowPlaintext: s.spec.AllowPlaintext, Methods: s.spec.Methods, Paths: s.spec.Paths}
}

func credentialToAPI(c model.ProposedCredential) apitype.ProposalCredential {
	out := apitype.ProposalCredential{Action: string(c.Action), Key: c.Key, Type: string(c.Type), Description: c.Description,
		Obtain: c.Obtain, ObtainInstructions: c.ObtainInstructions, HasValue: c.HasValue}
	if c.OAuth != nil {
		o := c.OAuth
		out.OAuth = &apitype.OAuthConfig{AuthorizationURL: o.AuthorizationURL, TokenURL: o.TokenURL, Scopes: o.Scopes, ClientID: o.ClientID,
			ScopeSeparator: o.ScopeSeparator, DisablePKCE: o.DisablePKCE, TokenAuthMethod: o.TokenAuthMethod}
	}
	return out
}
