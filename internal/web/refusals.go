package web

import (
	"net/http"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// refused puts an action of the admin pages that the broker refused (403)
// in the admin audit trail, as the server does for refused API requests.
// The route is the page's pattern and the form's action (one of the
// handler's fixed cases: a refusal comes only from a known action).
func (h *Handler) refused(r *http.Request, s *session, err error) {
	if r.Method == http.MethodGet || !errs.Is(err, errs.KindForbidden) || !s.loggedIn() {
		return
	}
	route := r.Pattern
	if a := r.PostFormValue("action"); a != "" && len(a) <= 32 {
		route += " (" + a + ")"
	}
	h.b.RecordRefusal(r.Context(), s.actor, route, r.PathValue("name"), err)
}
