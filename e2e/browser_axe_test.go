package e2e

// axe-core, the accessibility engine, run inside Chromium on the
// console's pages. scripts/test.sh installs the pinned npm package into
// e2e/.node; without it the tests that use it skip, saying so. The pages
// allow no script (strict CSP), so axe is injected through DevTools
// evaluation (Runtime.evaluate), which the page's CSP does not govern, on
// each page it checks. Identifiers start with "axe".

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core release scripts/test.sh installs; the tests
// refuse another, so that a result means the same on every machine.
const axeVersion = "4.14.1"

var (
	axeOnce   sync.Once
	axeSource string // axe.min.js, "" when not installed
	axeErr    string // why not
)

// axeLoad reads axe.min.js once; "" with the reason when axe-core (at
// axeVersion) is not installed.
func axeLoad() (string, string) {
	axeOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			axeErr = err.Error()
			return
		}
		dir := filepath.Join(root, "e2e", ".node", "node_modules", "axe-core")
		var pkg struct {
			Version string `json:"version"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err != nil || json.Unmarshal(b, &pkg) != nil {
			axeErr = fmt.Sprintf("axe-core is not installed in %s (scripts/test.sh installs it: npm install --prefix e2e/.node axe-core@%s)", dir, axeVersion)
			return
		}
		if pkg.Version != axeVersion {
			axeErr = fmt.Sprintf("axe-core %s is installed in %s, the tests pin %s: run npm install --prefix e2e/.node axe-core@%s", pkg.Version, dir, axeVersion, axeVersion)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, "axe.min.js"))
		if err != nil {
			axeErr = err.Error()
			return
		}
		axeSource = string(b)
	})
	return axeSource, axeErr
}

// axeScript returns axe.min.js, or skips the test when axe-core is not
// installed.
func axeScript(t testing.TB) string {
	t.Helper()
	src, why := axeLoad()
	if src == "" {
		t.Skipf("ACCESSIBILITY CHECK SKIPPED: %s", why)
	}
	return src
}

// axeMissingSaid remembers the tests already told that axe is missing.
var axeMissingSaid sync.Map

// axeRun checks the whole document against WCAG 2.0, 2.1 and 2.2 A and AA
// and axe's best practices, and answers one line per violation (every
// impact level: minor ones fail too), with the elements at fault.
const axeRun = `axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
  resultTypes: ['violations'],
}).then(r => r.violations.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' +
  v.nodes.slice(0, 5).map(n => n.target.join(' ') + (n.failureSummary ? ' (' + n.failureSummary.replace(/\s+/g, ' ').slice(0, 160) + ')' : '')).join('; ')))`

// axeViolations injects axe into the current page (once per document)
// and runs it.
func axeViolations(t testing.TB, b *brBrowser) []string {
	t.Helper()
	src := axeScript(t)
	return axeRunOn(t, b, src)
}

func axeRunOn(t testing.TB, b *brBrowser, src string) []string {
	t.Helper()
	if !brEval[bool](b, `typeof window.axe === 'object'`) {
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](src+"\n;true")); err != nil {
			t.Fatalf("injecting axe-core: %v", err)
		}
	}
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core: %v", err)
	}
	return v
}

// axeCheck fails the test for any axe-core violation on the current
// page. Without axe-core installed it says so loudly (once per test) and
// lets the rest of the test go on.
func axeCheck(t testing.TB, b *brBrowser, page string) {
	t.Helper()
	src, why := axeLoad()
	if src == "" {
		if _, said := axeMissingSaid.LoadOrStore(t.Name(), true); !said {
			t.Logf("ACCESSIBILITY CHECK WITH AXE-CORE SKIPPED: %s", why)
		}
		return
	}
	if v := axeRunOn(t, b, src); len(v) > 0 {
		t.Errorf("axe-core %s on %s:\n  %s", axeVersion, page, strings.Join(v, "\n  "))
	}
}

// axe finds what it claims to on a page with known faults, through the
// same injection the page checks use, under a CSP as strict as ours:
// were it blocked, or were its results not read, this would fail.
func TestBrowserAxeFindsFaults(t *testing.T) {
	t.Parallel()
	axeScript(t)
	b := brStart(t)
	const faulty = `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="script-src 'none'"><title>t</title></head>` +
		`<body><main><h1>a</h1><input type="text" name="nolabel"><img src="x.png"><button></button>` +
		`<p style="color:#aaa;background:#fff">faint text</p></main></body></html>`
	b.do("opening the faulty page", chromedp.Navigate("data:text/html,"+strings.ReplaceAll(faulty, "#", "%23")))
	got := strings.Join(axeViolations(t, b), "\n")
	for _, want := range []string{"html-has-lang", "label", "image-alt", "button-name", "color-contrast"} {
		if !strings.Contains(got, " "+want+":") {
			t.Errorf("axe missed %q; it found:\n%s", want, got)
		}
	}
}

// scripts/test.sh installs the axe-core these tests pin.
func TestAxePinMatchesTheInstaller(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "scripts", "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nAXE_VERSION="+axeVersion+"\n") {
		t.Errorf("scripts/test.sh does not install axe-core %s (AXE_VERSION=%s)", axeVersion, axeVersion)
	}
}
