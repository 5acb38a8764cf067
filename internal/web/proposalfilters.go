package web

import (
	"net/http"
	"strings"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// proposalFilter is the proposals list's filter form (a plain GET form):
// the vault, who asked (an agent's name or a user's email, as a
// substring) and the status links, which keep the other two.
type proposalFilter struct {
	Vault, By string
	Vaults    []string // the vaults the viewer may pick
}

func (h *Handler) proposalFilters(r *http.Request, s *session) *proposalFilter {
	q := r.URL.Query()
	f := &proposalFilter{Vault: q.Get("vault"), By: strings.TrimSpace(q.Get("by"))}
	if vs, err := h.b.ListVaults(r.Context(), s.actor); err == nil {
		for _, v := range vs.Vaults {
			if managesVault(v.Role) {
				f.Vaults = append(f.Vaults, v.Name)
			}
		}
	}
	return f
}

// keep reports whether p passes the "by" filter (the vault filter is the
// broker's).
func (f *proposalFilter) keep(p apitype.Proposal) bool {
	return f.By == "" || strings.Contains(strings.ToLower(p.CreatedBy), strings.ToLower(f.By))
}
