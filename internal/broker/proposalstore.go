package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/errs"
	"github.com/agent-vault/agent-vault/internal/model"
	"github.com/agent-vault/agent-vault/internal/service"
)

// The storage form of a proposal's changes: two JSON documents, one per
// column, each {"v":2,"services":[…]} or {"v":2,"credentials":[…]}. Rows
// written before the form had a version hold a bare array of items of the
// same shape (version 1); they are read as before. Anything else — a
// document that is not JSON, null, an unknown version or action, a field
// version 2 does not have, an item that no longer validates, or two empty
// documents — is an error naming the proposal: a row that cannot be read
// is never taken for "no changes".

// proposalFormat is the version new rows are written in.
const proposalFormat = 2

// storedService is one service change as stored. Its fields mirror the
// API's at the time version 1 was written; it is its own type so that a
// change of the API cannot change what is stored.
type storedService struct {
	Action         string                 `json:"action"`
	Name           string                 `json:"name,omitempty"`
	Host           string                 `json:"host,omitempty"`
	Enabled        *bool                  `json:"enabled,omitempty"`
	Auth           *apitype.ServiceAuth   `json:"auth,omitempty"`
	Substitutions  []apitype.Substitution `json:"substitutions,omitempty"`
	AllowPlaintext bool                   `json:"allow_plaintext,omitempty"`
	Methods        []string               `json:"methods,omitempty"`
	Paths          *apitype.PathRules     `json:"paths,omitempty"`
}

// storedCredential is one credential slot as stored (never a value).
type storedCredential struct {
	Action             string       `json:"action"`
	Key                string       `json:"key"`
	Type               string       `json:"type,omitempty"`
	Description        string       `json:"description,omitempty"`
	Obtain             string       `json:"obtain,omitempty"`
	ObtainInstructions string       `json:"obtain_instructions,omitempty"`
	HasValue           bool         `json:"has_value,omitempty"`
	OAuth              *storedOAuth `json:"oauth,omitempty"`
}

type storedOAuth struct {
	AuthorizationURL string   `json:"authorization_url,omitempty"`
	TokenURL         string   `json:"token_url"`
	Scopes           []string `json:"scopes,omitempty"`
	ClientID         string   `json:"client_id,omitempty"`
	ScopeSeparator   string   `json:"scope_separator,omitempty"`
	DisablePKCE      bool     `json:"disable_pkce,omitempty"`
	TokenAuthMethod  string   `json:"token_auth_method,omitempty"`
}

// encodeProposal is the storage form of c: the services and credentials
// documents.
func encodeProposal(c proposalChanges) (services, credentials []byte, err error) {
	svcs := make([]storedService, len(c.services))
	for i, s := range c.services {
		if s.action == model.ProposalSet {
			sp := s.spec
			svcs[i] = storedService{Action: string(s.action), Name: sp.Name, Host: sp.Host, Enabled: sp.Enabled, Auth: &sp.Auth,
				Substitutions: sp.Substitutions, AllowPlaintext: sp.AllowPlaintext, Methods: sp.Methods, Paths: sp.Paths}
		} else {
			svcs[i] = storedService{Action: string(s.action), Name: s.name, Host: s.host}
		}
	}
	creds := make([]storedCredential, len(c.credentials))
	for i, s := range c.credentials {
		creds[i] = storedCredential{Action: string(s.Action), Key: s.Key, Type: string(s.Type), Description: s.Description,
			Obtain: s.Obtain, ObtainInstructions: s.ObtainInstructions, HasValue: s.HasValue}
		if s.OAuth != nil {
			o := s.OAuth
			creds[i].OAuth = &storedOAuth{AuthorizationURL: o.AuthorizationURL, TokenURL: o.TokenURL, Scopes: o.Scopes, ClientID: o.ClientID,
				ScopeSeparator: o.ScopeSeparator, DisablePKCE: o.DisablePKCE, TokenAuthMethod: o.TokenAuthMethod}
		}
	}
	if services, err = json.Marshal(struct {
		V        int             `json:"v"`
		Services []storedService `json:"services"`
	}{proposalFormat, svcs}); err != nil {
		return nil, nil, err
	}
	credentials, err = json.Marshal(struct {
		V           int                `json:"v"`
		Credentials []storedCredential `json:"credentials"`
	}{proposalFormat, creds})
	return services, credentials, err
}

// decodeProposal reads a stored proposal's changes. Its error is an
// internal error that names the proposal and says what to do.
func decodeProposal(p model.Proposal) (proposalChanges, error) {
	c, err := decodeChanges(p.ServicesDoc, p.CredentialsDoc)
	if err != nil {
		return proposalChanges{}, &errs.Error{Kind: errs.KindInternal, Code: "proposal_unreadable", Cause: err,
			Message: "proposal " + strconv.FormatInt(p.ID, 10) + " is stored in a form this server cannot read, so nothing of it was applied: reject it and ask for a new one (the server log has the detail)"}
	}
	return c, nil
}

func decodeChanges(svcDoc, credDoc []byte) (proposalChanges, error) {
	var svcs []storedService
	if err := decodeDocument(svcDoc, "services", &svcs); err != nil {
		return proposalChanges{}, err
	}
	var creds []storedCredential
	if err := decodeDocument(credDoc, "credentials", &creds); err != nil {
		return proposalChanges{}, err
	}
	if len(svcs) == 0 && len(creds) == 0 {
		return proposalChanges{}, errors.New("the stored proposal holds no change")
	}
	var out proposalChanges
	for i, s := range svcs {
		sc, err := decodeService(s, "services["+strconv.Itoa(i)+"]")
		if err != nil {
			return proposalChanges{}, err
		}
		out.services = append(out.services, sc)
	}
	for i, s := range creds {
		cc, err := decodeCredential(s, "credentials["+strconv.Itoa(i)+"]")
		if err != nil {
			return proposalChanges{}, err
		}
		out.credentials = append(out.credentials, cc)
	}
	return out, nil
}

// decodeDocument reads one column: a bare array (version 1) or the
// versioned object holding the array under name.
func decodeDocument[T any](doc []byte, name string, items *[]T) error {
	doc = bytes.TrimSpace(doc)
	switch {
	case len(doc) > 0 && doc[0] == '[':
		if err := json.Unmarshal(doc, items); err != nil {
			return fmt.Errorf("%s (version 1): %w", name, err)
		}
		return nil
	case len(doc) > 0 && doc[0] == '{':
		var head struct {
			V *int `json:"v"`
		}
		if err := json.Unmarshal(doc, &head); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if head.V == nil || *head.V != proposalFormat {
			return fmt.Errorf("%s: storage version missing or unknown (this server reads 1 and %d)", name, proposalFormat)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(doc, &body); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for k := range body {
			if k != "v" && k != name {
				return fmt.Errorf("%s: unknown field %q", name, k)
			}
		}
		list, ok := body[name]
		if !ok || bytes.Equal(bytes.TrimSpace(list), []byte("null")) {
			return fmt.Errorf("%s: the list is missing", name)
		}
		dec := json.NewDecoder(bytes.NewReader(list))
		dec.DisallowUnknownFields()
		if err := dec.Decode(items); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("%s: not a stored list", name)
}

func decodeService(s storedService, f string) (serviceChange, error) {
	act, ok := model.ParseProposalAction(s.Action)
	if !ok {
		return serviceChange{}, fmt.Errorf("%s: unknown action %q", f, s.Action)
	}
	if act == model.ProposalDelete {
		if s.Name == "" {
			return serviceChange{}, fmt.Errorf("%s: a delete without a service name", f)
		}
		return serviceChange{action: act, name: s.Name, host: s.Host}, nil
	}
	if s.Auth == nil {
		return serviceChange{}, fmt.Errorf("%s: a set without auth", f)
	}
	spec := apitype.Service{Name: s.Name, Host: s.Host, Enabled: s.Enabled, Auth: *s.Auth, Substitutions: s.Substitutions,
		AllowPlaintext: s.AllowPlaintext, Methods: s.Methods, Paths: s.Paths}
	svc, err := service.FromAPI(spec, f)
	if err != nil {
		return serviceChange{}, fmt.Errorf("%s: %w", f, err)
	}
	return serviceChange{action: act, name: svc.Name, host: spec.Host, spec: spec, svc: svc}, nil
}

func decodeCredential(s storedCredential, f string) (model.ProposedCredential, error) {
	act, ok := model.ParseProposalAction(s.Action)
	if !ok {
		return model.ProposedCredential{}, fmt.Errorf("%s: unknown action %q", f, s.Action)
	}
	if err := model.ValidateCredentialKey(f+".key", s.Key); err != nil {
		return model.ProposedCredential{}, fmt.Errorf("%s: %w", f, err)
	}
	out := model.ProposedCredential{Action: act, Key: s.Key, Description: s.Description, Obtain: s.Obtain,
		ObtainInstructions: s.ObtainInstructions, HasValue: s.HasValue}
	switch typ := model.CredentialType(s.Type); {
	case act == model.ProposalDelete && (typ == "" || typ == model.CredentialStatic || typ == model.CredentialOAuth):
		out.Type = typ // meaningless on a delete; kept as written
	case act == model.ProposalSet && (typ == "" || typ == model.CredentialStatic):
		out.Type = model.CredentialStatic
	case act == model.ProposalSet && typ == model.CredentialOAuth:
		out.Type = typ
	default:
		return model.ProposedCredential{}, fmt.Errorf("%s: type %q does not go with action %s", f, s.Type, act)
	}
	if s.OAuth != nil {
		if out.Type != model.CredentialOAuth {
			return model.ProposedCredential{}, fmt.Errorf("%s: oauth settings on a %s slot", f, act)
		}
		o := s.OAuth
		out.OAuth = &model.OAuthSlot{AuthorizationURL: o.AuthorizationURL, TokenURL: o.TokenURL, Scopes: o.Scopes, ClientID: o.ClientID,
			ScopeSeparator: o.ScopeSeparator, DisablePKCE: o.DisablePKCE, TokenAuthMethod: o.TokenAuthMethod}
	}
	if act == model.ProposalSet && out.Type == model.CredentialOAuth && out.OAuth == nil {
		return model.ProposedCredential{}, fmt.Errorf("%s: an oauth slot without its oauth settings", f)
	}
	return out, nil
}
