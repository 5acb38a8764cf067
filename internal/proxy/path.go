package proxy

import (
	"path"
	"strings"
)

// matchPath is the path a request is matched on: percent-decoded (Go's
// URL.Path) with dot segments resolved, so "/api/../admin" is matched as
// "/admin", the path an upstream would serve, and can never borrow the
// credential of "/api/*".
func matchPath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}
