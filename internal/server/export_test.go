package server

// HasNULEscape exposes hasNULEscape to the external tests.
var HasNULEscape = hasNULEscape

// RoutePatterns lists the patterns of the control plane's route table.
func (s *Server) RoutePatterns() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.pattern)
	}
	return out
}
