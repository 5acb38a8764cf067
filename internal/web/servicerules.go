package web

import (
	"net/http"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// The service form's method and path rules. This build's services carry
// none yet, so the form offers none; these hooks are where the form reads
// and shows them once apitype.Service has them.

// rulesOffered is whether the form shows the rules section.
const rulesOffered = false

// fillRules puts a service's rules into the form.
func fillRules(*serviceForm, apitype.Service) {}

// readRules reads the posted rules into the form and the service.
func readRules(*http.Request, *serviceForm, *apitype.Service) {}

// rulesSummary is a service's rules, one line each, for the list.
func rulesSummary(apitype.Service) []string { return nil }
