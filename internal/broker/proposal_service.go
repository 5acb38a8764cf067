package broker

import "github.com/agent-vault/agent-vault/internal/apitype"

// proposedService is the service a proposal's "set" asks for, in the
// wire form service.FromAPI validates. s.Auth must be set.
func proposedService(s apitype.ProposalService) apitype.Service {
	return apitype.Service{
		Name: s.Name, Host: s.Host, Enabled: s.Enabled, Auth: *s.Auth, Substitutions: s.Substitutions,
		AllowPlaintext: s.AllowPlaintext, Methods: s.Methods, Paths: s.Paths,
	}
}
