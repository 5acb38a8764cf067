package server

import (
	_ "embed"
	"net/http"
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
