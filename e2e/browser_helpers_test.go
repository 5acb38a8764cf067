package e2e

// Shared pieces of the TestBrowser… tests: headless Debian Chromium driven
// with chromedp against the real binary's approval pages. Every
// identifier here starts with "br" so that the file cannot collide with
// other e2e files.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// brChromium is where Debian installs Chromium (scripts/test.sh does).
const brChromium = "/usr/bin/chromium"

// brScreenshotsEnv, when "1", makes the tests write their screenshots to
// docs/screenshots (the docs show them); otherwise they go to a temp dir,
// so that a test run leaves the tree alone.
const brScreenshotsEnv = "UPDATE_SCREENSHOTS"

// brBrowser is one headless Chromium with one tab.
type brBrowser struct {
	t       *testing.T
	ctx     context.Context
	shots   string // where screenshots go
	mu      sync.Mutex
	dialogs []string // JavaScript dialogs that opened (there must be none)
}

// brStart starts Chromium, or skips the test when it is not installed.
func brStart(t *testing.T) *brBrowser { t.Helper(); return brStartFor(t, 60*time.Second) }

// brStartFor is brStart for a test whose browser steps take up to d in all.
func brStartFor(t *testing.T, d time.Duration) *brBrowser { t.Helper(); return brStartWith(t, d) }

// brStartWith is brStartFor with extra Chromium options.
func brStartWith(t *testing.T, d time.Duration, extra ...chromedp.ExecAllocatorOption) *brBrowser {
	t.Helper()
	if _, err := os.Stat(brChromium); err != nil {
		t.Skipf("browser test skipped: Debian chromium is not installed at %s (apt-get install chromium; scripts/test.sh does it as root): %v", brChromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(brChromium),
		chromedp.Headless,
		chromedp.WindowSize(1000, 900),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("no-proxy-server", true), // the control plane is on loopback; never through a proxy
	)
	opts = append(opts, extra...)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", brChromium, err)
	}
	b := &brBrowser{t: t, ctx: ctx, shots: t.TempDir()}
	if os.Getenv(brScreenshotsEnv) == "1" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		b.shots = filepath.Join(root, "docs", "screenshots")
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Any alert/confirm/prompt is recorded and dismissed, so that a
	// dialog fails the test instead of hanging it.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

// otherContext is a second person's browser: a new browser context (its
// own cookies and storage, like a separate profile) in the same
// Chromium, with one tab.
func (b *brBrowser) otherContext() *brBrowser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening a second browser context: %v", err)
	}
	o := &brBrowser{t: b.t, ctx: ctx, shots: b.shots}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			o.mu.Lock()
			o.dialogs = append(o.dialogs, string(ev.Type)+": "+ev.Message)
			o.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return o
}

// waitFor polls for up to 90 s (a loaded machine is slow) until sel is on
// the page, failing with the page's text otherwise (a step that went
// wrong shows where it landed instead of using up the browser's whole
// time budget).
func (b *brBrowser) waitFor(what, sel string) {
	b.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		// An evaluation during the navigation fails; that is no answer yet.
		found, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.querySelector(`+strconv.Quote(sel)+`)`))
		if err == nil && found {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(b.ctx, chromedp.Location())
			b.t.Fatalf("browser: %s: no %s at %s; page text:\n%s", what, sel, loc, brEval[string](b, `document.body ? document.body.innerText : ""`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do runs actions and fails the test on an error.
func (b *brBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		b.t.Fatalf("browser: %s: %v\nat %s\npage text:\n%s", what, err, brCutToken(loc), body)
	}
}

// text is the text of the first element matching the CSS selector.
func (b *brBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: reading %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression (DevTools evaluation, not page
// script: the page's CSP allows no script).
func brEval[T any](b *brBrowser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluating %s: %v", expr, err)
	}
	return v
}

// screenshot saves the full page as a PNG.
func (b *brBrowser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shots, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", p, len(png))
}

// noDialogs fails the test if any JavaScript dialog opened.
func (b *brBrowser) noDialogs() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("JavaScript dialogs opened: %q", b.dialogs)
	}
}

// login fills the inline login form of the current page and waits for the
// logged-in page to show sel.
func (b *brBrowser) login(email, pw, waitSel string) {
	b.t.Helper()
	b.do("logging in",
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS(waitSel)),
	)
}

// brCutToken shortens an approval token in a URL for logs.
func brCutToken(s string) string {
	if i := strings.Index(s, "av_appr_"); i >= 0 {
		return s[:i+8] + "…"
	}
	return s
}

// brProposal is what an agent's poll returns.
type brProposal struct {
	ID              int64  `json:"id"`
	Status          string `json:"status"`
	RejectionReason string `json:"rejection_reason"`
}

// brPoll polls GET /v1/proposals/{id} as the agent until it leaves
// pending (real agents poll every 3 s; the test polls faster).
func brPoll(t *testing.T, base, tok string, id int64) brProposal {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := call(t, http.MethodGet, base+"/v1/proposals/"+strconv.FormatInt(id, 10), tok, nil)
		if r.status != http.StatusOK {
			t.Fatalf("agent poll: %s", r)
		}
		var p brProposal
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("agent poll: %v: %s", err, r)
		}
		if p.Status != "pending" || time.Now().After(deadline) {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// brCreated is the 201 body of POST /v1/proposals.
type brCreated struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	ApprovalURL string `json:"approval_url"`
}

// brPropose creates a proposal as the agent.
func brPropose(t *testing.T, base, tok string, body any) brCreated {
	t.Helper()
	r := call(t, http.MethodPost, base+"/v1/proposals", tok, body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /v1/proposals: %s", r)
	}
	var c brCreated
	if err := json.Unmarshal(r.body, &c); err != nil || c.ApprovalURL == "" || c.Status != "pending" {
		t.Fatalf("POST /v1/proposals: %v: %s", err, r)
	}
	if !strings.HasPrefix(c.ApprovalURL, base+"/approve/"+strconv.FormatInt(c.ID, 10)+"?token=av_appr_") {
		t.Fatalf("approval_url %q does not point at this server's approval page", brCutToken(c.ApprovalURL))
	}
	return c
}

// brPlainServer starts a server without the proxy, registers the owner,
// and creates an agent with the proxy role on the default vault.
func brPlainServer(t *testing.T) (*server, string) {
	t.Helper()
	s := startServer(t, serverOpts{dataDir: filepath.Join(t.TempDir(), "server")})
	owner := newCLI(t, "owner", s.url)
	register(t, owner, brOwnerEmail, brOwnerPW)
	tok := strings.TrimSpace(owner.ok("", "agent", "create", "bot", "--vault", "default:proxy", "--token-only"))
	if !strings.HasPrefix(tok, "av_agt_") {
		t.Fatalf("agent create --token-only printed %q", tok)
	}
	return s, tok
}

// The owner every browser test logs in as (pxStart registers the same).
const (
	brOwnerEmail = "owner@example.com"
	brOwnerPW    = "owner-pass-1"
)
