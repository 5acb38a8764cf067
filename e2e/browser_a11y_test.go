package e2e

// Our own accessibility rule set, run in the browser on every console
// page next to axe-core (browser_axe_test.go), through DevTools
// evaluation (the pages themselves run no script). It checks
// what an automated checker can: every form control has a label, images
// have alt text, buttons and links have names, ids are unique, the page
// has a language and one h1, text contrast meets WCAG AA (4.5:1, 3:1 for
// large text), and the page fits a 375 px wide screen without sideways
// scrolling. Identifiers start with "a11y".

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// a11yRules returns one line per violation on the current page.
const a11yRules = `(() => {
  const out = [];
  const visible = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const name = el => (el.getAttribute('aria-label') || '').trim() || (el.textContent || '').trim() || (el.getAttribute('title') || '').trim();
  const desc = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '');
  if (!document.documentElement.lang) out.push('html has no lang');
  if (document.querySelectorAll('h1').length !== 1) out.push('the page has ' + document.querySelectorAll('h1').length + ' h1 elements, want 1');
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) { if (ids[el.id]) out.push('duplicate id ' + el.id); ids[el.id] = true; }
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) || el.closest('label') || (el.getAttribute('aria-label') || '').trim() || el.getAttribute('aria-labelledby');
    if (!labelled) out.push('no label: ' + desc(el));
  }
  for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt')) out.push('img without alt: ' + el.src);
  for (const el of document.querySelectorAll('button, input[type=submit]')) if (!name(el) && !el.value) out.push('button without a name: ' + desc(el));
  for (const el of document.querySelectorAll('a[href]')) if (!name(el)) out.push('link without a name: ' + el.href);
  // Contrast of every visible text node's element against its background.
  const rgb = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent.trim() || !visible(el)) continue;
    seen.add(el);
    const s = getComputedStyle(el), fg = rgb(s.color), b = bg(el);
    if (!fg) continue;
    const l1 = lum(fg), l2 = lum(b), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ' for "' + n.textContent.trim().slice(0, 40) + '" (' + s.color + ' on rgb(' + b.r + ',' + b.g + ',' + b.b + '))');
  }
  return out;
})()`

// pageCheck is what every console page passes, at the desktop size and
// at 375 px wide: axe-core (browser_axe_test.go) and the rule set above
// find nothing, nothing needs sideways scrolling at 375 px, the page runs
// no script (no script element, no inline handler), and its HTML holds
// none of secrets. It saves shot (desktop) and narrowShot (375 px) when
// they are not "".
func (b *brBrowser) pageCheck(page, shot, narrowShot string, secrets ...string) {
	t := b.t
	t.Helper()
	html := brEval[string](b, `document.documentElement.outerHTML`)
	for _, s := range secrets {
		if strings.Contains(html, s) {
			t.Errorf("%s: the page holds a credential value", page)
		}
	}
	if n := brEval[int](b, `document.querySelectorAll('script, [onclick], [onload], [onerror], [onsubmit], [onchange], [oninput]').length`); n != 0 {
		t.Errorf("%s: %d script elements or inline handlers", page, n)
	}
	if v := brEval[[]string](b, a11yRules); len(v) > 0 {
		t.Errorf("accessibility of %s:\n  %s", page, strings.Join(v, "\n  "))
	}
	axeCheck(t, b, page)
	if shot != "" {
		b.screenshot(shot)
	}
	b.do("narrowing to 375 px", chromedp.EmulateViewport(375, 800))
	if w := brEval[int](b, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("%s is %d px wide at a 375 px wide screen: it scrolls sideways", page, w)
	}
	if v := brEval[[]string](b, a11yRules); len(v) > 0 {
		t.Errorf("accessibility of %s at 375 px:\n  %s", page, strings.Join(v, "\n  "))
	}
	axeCheck(t, b, page+" at 375 px")
	if narrowShot != "" {
		b.screenshot(narrowShot)
	}
	b.do("back to the desktop size", chromedp.EmulateViewport(1000, 900))
}

// The rule set finds what it claims to: a page with one fault of each
// kind yields one finding of each kind.
func TestBrowserA11yRulesFindFaults(t *testing.T) {
	t.Parallel()
	b := brStart(t)
	const faulty = `<!doctype html><html><body><h1>a</h1><h1>b</h1>` +
		`<input type="text" name="nolabel"><img src="x.png"><button></button><a href="/x"></a>` +
		`<p style="color:#aaa;background:#fff">faint text</p><span id="d"></span><span id="d"></span>` +
		`<div style="width:600px">wide</div></body></html>`
	b.do("opening the faulty page", chromedp.Navigate("data:text/html,"+strings.ReplaceAll(faulty, "#", "%23")))
	got := strings.Join(brEval[[]string](b, a11yRules), "\n")
	for _, want := range []string{"html has no lang", "2 h1 elements", "no label: input[name=nolabel]", "img without alt", "button without a name", "link without a name", `contrast 2.32 < 4.5 for "faint text"`, "duplicate id d"} {
		if !strings.Contains(got, want) {
			t.Errorf("the rule set missed %q; it found:\n%s", want, got)
		}
	}
	b.do("narrowing", chromedp.EmulateViewport(375, 800))
	if w := brEval[int](b, `document.documentElement.scrollWidth`); w <= 375 {
		t.Errorf("a 600 px wide element does not widen the page (%d px): the 375 px check cannot fail", w)
	}
}
