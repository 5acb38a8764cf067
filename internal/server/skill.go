package server

import (
	_ "embed"
	"net/http"

	"github.com/agent-vault/agent-vault/internal/errs"
)

// skillCLI teaches an agent the Agent Vault protocol.
//
//go:embed skills/cli.md
var skillCLI []byte

// serveSkill serves the skill document (public: it holds no secret).
func serveSkill(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(skillCLI)
}

// serveCA serves the broker proxy's root certificate (public: agents must
// trust it, and it holds no secret).
func (s *Server) serveCA(w http.ResponseWriter, r *http.Request) {
	if len(s.caPEM) == 0 {
		s.writeError(w, r, errs.NotFound("the broker proxy is not running on this server, so there is no CA"))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="agent-vault-ca.pem"`)
	_, _ = w.Write(s.caPEM)
}
