package broker

import (
	"encoding/json"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// withDocuments fills a reviewer's view of a proposal with its services
// and credential slots as JSON documents in strings, the form reviewers'
// tools written for the public protocol parse. They are encoded from the
// view itself, so they hold nothing the view does not (never a value).
func withDocuments(v *apitype.Proposal) {
	if v.ID == 0 {
		return
	}
	services, credentials := v.Services, v.Credentials
	if services == nil {
		services = []apitype.ProposalService{}
	}
	if credentials == nil {
		credentials = []apitype.ProposalCredential{}
	}
	s, _ := json.Marshal(services)
	c, _ := json.Marshal(credentials)
	v.ServicesJSON, v.CredentialsJSON = string(s), string(c)
}
