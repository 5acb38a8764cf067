package server

import (
	"context"
	"net/http"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// probePaths answer load balancers and orchestrators: unauthenticated,
// outside the in-flight ceiling (a saturated server must still say it is
// alive), and never carrying a secret or an error text.
var probePaths = map[string]bool{"/health": true, "/healthz": true, "/readyz": true}

// ReadyCheck is one readiness condition; it returns nil when it holds.
type ReadyCheck struct {
	Name  string // "store", "keyring", "proxy"
	Check func(ctx context.Context) error
}

// readyTimeout bounds all of a readiness probe's checks together.
const readyTimeout = 2 * time.Second

// healthz answers 200 while the process serves HTTP at all.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, apitype.Health{Status: "ok"})
}

// readyz answers 200 when every readiness check holds, else 503. The
// answer names each check and says ok or failing; the reason goes to the
// server's log only, since it may name database hosts.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	out := apitype.Readiness{Status: "ok", Checks: map[string]string{}}
	status := http.StatusOK
	for _, c := range s.ready {
		if err := c.Check(ctx); err != nil {
			s.log.Warn("readiness check failing", "check", c.Name, "err", err)
			out.Checks[c.Name] = "failing"
			out.Status, status = "unavailable", http.StatusServiceUnavailable
			continue
		}
		out.Checks[c.Name] = "ok"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, out)
}
