package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/agent-vault/agent-vault/"

// layer ranks each package; an import must point to a strictly lower
// layer, or be one of the same-layer edges in sameLayer.
var layer = map[string]int{
	"internal/errs": 0, "internal/model": 0, "internal/secret": 0, "internal/token": 0,
	"internal/password": 0, "internal/policy": 0, "internal/apitype": 0, "internal/ratelimit": 0,
	"internal/store/logsegment": 0, "internal/trail": 0, "internal/redact": 0, "internal/version": 0,
	"internal/config": 1, "internal/keyring": 1, "internal/service": 1, "internal/catalog": 1,
	"internal/netguard": 1, "internal/ca": 1, "internal/store": 1, "internal/store/sqlstore": 1, "internal/metrics": 1,
	"internal/mail": 1, "internal/sandbox": 1, "internal/oauth": 1, "internal/oauth/oauthtest": 1,
	"internal/broker": 2, "internal/audit": 2, "internal/store/sqltest": 2,
	"internal/server": 3, "internal/client": 3, "internal/proxy": 3, "pkg/agentvault": 3, "internal/web": 3,
	"internal/cli": 4, "internal/daemon": 4,
	"cmd/agent-vault":   5,
	"internal/archtest": 6,
	"e2e":               6,
	"deploy":            6,
}

// sameLayer lists the allowed edges inside one layer.
var sameLayer = map[string]bool{
	"internal/model -> internal/errs":             true,
	"internal/model -> internal/ratelimit":        true, // the settings' typed rate-limit overrides
	"internal/policy -> internal/model":           true,
	"internal/store/logsegment -> internal/model": true,
	"internal/store -> internal/keyring":          true,
	"internal/store/sqlstore -> internal/store":   true,
	"internal/store/sqlstore -> internal/keyring": true,
	"internal/store/sqlstore -> internal/service": true, // the credential-binding migration reads services
	"internal/cli -> internal/daemon":             true,
	"internal/catalog -> internal/service":        true,
	"internal/ca -> internal/keyring":             true,
	"internal/oauth -> internal/netguard":         true, // token requests dial through netguard
}

// onlyImports restricts packages whose allowed imports are narrower than
// their layer: the client and the public SDK speak the API types and
// nothing else.
var onlyImports = map[string][]string{
	"internal/client":  {"internal/apitype"},
	"pkg/agentvault":   {"internal/apitype"},
	"internal/policy":  {"internal/model", "internal/errs"},
	"internal/sandbox": {},
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	seen := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(f[0], module)
		pl, ok := layer[pkg]
		if !ok {
			t.Errorf("package %s has no layer: add it to layer here and to docs/architecture.md", pkg)
			continue
		}
		seen++
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if allowed, ok := onlyImports[pkg]; ok && !contains(allowed, dep) {
				t.Errorf("%s may import only %v, but imports %s", pkg, allowed, dep)
			}
			dl, ok := layer[dep]
			switch {
			case !ok:
				t.Errorf("%s imports %s, which has no layer", pkg, dep)
			case dl > pl:
				t.Errorf("upward import: %s (layer %d) imports %s (layer %d)", pkg, pl, dep, dl)
			case dl == pl && !sameLayer[pkg+" -> "+dep]:
				t.Errorf("same-layer import %s -> %s is not in sameLayer", pkg, dep)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d packages listed; go list output was:\n%s", seen, out)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
