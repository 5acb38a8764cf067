package server

import (
	"net/http"
	"strconv"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// serveCA serves the broker proxy's root certificate (public: agents must
// trust it, and it holds no secret).
func (s *Server) serveCA(w http.ResponseWriter, r *http.Request) {
	if len(s.caPEM) == 0 {
		s.writeError(w, r, errs.NotFound("the broker proxy is not running on this server, so there is no CA"))
		return
	}
	// Clients that take the proxy's port from the CA download (see
	// docs/compatibility.md) read it here.
	if port := s.b.ProxyPort(); port > 0 {
		w.Header().Set("X-MITM-Port", strconv.Itoa(port))
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="agent-vault-ca.pem"`)
	_, _ = w.Write(s.caPEM)
}
