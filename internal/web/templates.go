package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"sync"
)

//go:embed templates/*.html
var templateFS embed.FS

// styleCSS is the pages' only style sheet, inlined and allowed by its hash
// in the Content-Security-Policy (no inline style attributes are used).
const styleCSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf;--ok:#1a7f37;--bad:#b42318;--warn:#9a6700}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;justify-content:space-between;align-items:center;padding:10px 24px;background:#111827;color:#fff}
header.top a{color:#fff;text-decoration:none;margin-right:14px}
header.top .brand{font-weight:700;letter-spacing:.02em}
header.top nav{display:flex;align-items:center;gap:6px}
header.top .who{color:#cbd5e1;margin-right:8px}
form.inline{display:inline;margin:0}
button.linkish{background:none;border:1px solid #475569;color:#fff;border-radius:6px;padding:3px 10px;cursor:pointer;font:inherit}
main{max-width:860px;margin:24px auto;padding:0 20px}
footer{max-width:860px;margin:32px auto;padding:0 20px;color:var(--muted);font-size:12px}
h1{font-size:24px;margin:8px 0 4px}
h2{font-size:17px;margin:22px 0 8px}
.meta{color:var(--muted);margin-top:0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;background:#eef1f5;border-radius:4px;padding:1px 5px;overflow-wrap:anywhere}
.badge{display:inline-block;font-size:12px;font-weight:600;border-radius:999px;padding:2px 10px;vertical-align:middle;text-transform:uppercase;letter-spacing:.04em;background:#e5e7eb;color:#374151}
.badge.pending{background:#fff4d6;color:var(--warn)}
.badge.applied{background:#dcfce7;color:var(--ok)}
.badge.rejected{background:#fee4e2;color:var(--bad)}
.msg{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--card);border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;padding:10px 14px}
.msg.dev{border-left-color:#94a3b8;color:#334155}
.agent-text{max-height:16em;overflow:auto}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:10px 0}
.card-head{margin-bottom:6px}
.action{display:inline-block;font-size:12px;font-weight:600;border-radius:4px;padding:1px 7px;margin-right:6px;background:#e0ecff;color:var(--accent)}
.action.delete{background:#fee4e2;color:var(--bad)}
.tag{font-size:12px;border:1px solid var(--line);border-radius:4px;padding:0 6px;color:var(--muted)}
.desc{margin:4px 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:6px 0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}
label{display:block;font-weight:600;margin:12px 0 4px}
input[type=email],input[type=password],textarea{width:100%;max-width:440px;padding:8px 10px;border:1px solid #b8c0cc;border-radius:6px;font:inherit;background:#fff}
textarea{max-width:100%}
button{font:inherit;cursor:pointer}
form.login button{display:block}
button.primary,button.danger{border:0;border-radius:6px;padding:9px 20px;font-weight:600;color:#fff;margin-top:12px}
button.primary{background:var(--ok)}
button.danger{background:var(--bad)}
.actions{margin:16px 0 8px;display:flex;align-items:center;gap:12px}
.actions button{margin-top:0}
.hint{color:var(--muted);font-size:13px;margin:4px 0}
form.deny{margin-top:18px;padding-top:12px;border-top:1px solid var(--line)}
.alert{border-radius:6px;padding:10px 14px;margin:12px 0;overflow-wrap:anywhere}
.alert.error{background:#fee4e2;color:#7a1a12;border:1px solid #f6b8b2}
.alert.notice{background:#eef4ff;color:#1e3a6e;border:1px solid #c7d7f5}
.decided{border-radius:8px;padding:6px 14px;margin:12px 0;background:#f1f5f9;border:1px solid var(--line)}
.decided.applied{background:#ecfdf3;border-color:#abefc6}
.decided.rejected{background:#fef3f2;border-color:#fecdca}
.reason{white-space:pre-wrap;overflow-wrap:anywhere;font-style:italic}
.login-box{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:4px 18px 16px;margin-top:18px}
table.list{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line)}
table.list th,table.list td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
table.list th{font-size:13px;color:var(--muted);font-weight:600}
.filters a,.filters strong{margin-left:8px}
a{color:var(--accent)}
.action.add{background:#dcfce7;color:var(--ok)}
.action.update{background:#fff4d6;color:#7a4b00}
.action.remove{background:#fee4e2;color:var(--bad)}
.action.unchanged{background:#eef1f5;color:var(--muted)}
.warnings{background:#fffbeb;border:1px solid #f5d37a;border-left:4px solid var(--warn);border-radius:6px;padding:2px 16px 8px;margin:14px 0}
.warnings h2{color:var(--warn);margin-top:10px}
.warnings ul,.alert.conflict ul,ul.changes{margin:4px 0;padding-left:20px}
.warn{font-weight:600;color:#7a4b00;overflow-wrap:anywhere}
.warn-line{font-weight:600;color:#7a4b00;background:#fffbeb;border-left:3px solid var(--warn);padding:3px 8px;margin:6px 0;overflow-wrap:anywhere}
.warn-line.conflict{color:#7a1a12;background:#fee4e2;border-left-color:var(--bad)}
.alert.conflict{background:#fee4e2;color:#7a1a12;border:1px solid #f6b8b2;border-left:4px solid var(--bad)}
.alert.conflict h2{margin-top:4px;color:var(--bad)}
.card.warned{border-color:#f5d37a}
table.diff{width:100%;border-collapse:collapse;margin:6px 0;font-size:14px;table-layout:fixed}
table.diff tr>:first-child{width:150px}
table.diff th,table.diff td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
table.diff thead th{font-size:12px;color:var(--muted);font-weight:600}
table.diff tbody th{color:var(--muted);font-weight:400;white-space:nowrap}
table.diff code.del{background:#fee4e2;text-decoration:line-through}
table.diff code.ins{background:#dcfce7;font-weight:600}
table.diff tr.changed th{color:var(--fg);font-weight:600}
table.diff tr.same td{color:var(--muted)}
input[type=text],input[type=number],select{width:100%;max-width:440px;padding:8px 10px;border:1px solid #b8c0cc;border-radius:6px;font:inherit;background:#fff}
label.check{display:flex;align-items:center;gap:8px;font-weight:600}
label.check input{width:auto;margin:0}
table.list td form.inline select{width:auto}
button.secondary{border:1px solid #475569;background:#fff;color:var(--fg);border-radius:6px;padding:5px 12px}
button.small{padding:3px 10px;margin:0;font-size:13px}
section.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:4px 18px 16px;margin:16px 0}
section.panel.danger{border-color:#f6b8b2}
section.panel form:not(.inline) button.primary,section.panel form:not(.inline) button.danger{display:block}
section.panel.danger h2{color:var(--bad)}
.empty{color:var(--muted)}
input.wide{max-width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:640px){header.top{flex-wrap:wrap;gap:6px;padding:8px 12px}header.top nav{flex-wrap:wrap}header.top a{margin-right:8px}main{padding:0 12px}table.list{display:block;overflow-x:auto}dl{grid-template-columns:1fr}}
` + vaultCSS

// csp is the Content-Security-Policy of every page: nothing loads but the
// inline style sheet above; forms post only to this origin; no framing.
var csp = "default-src 'none'; style-src '" + styleHash() + "'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func styleHash() string {
	sum := sha256.Sum256([]byte(styleCSS))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// pages returns the parsed templates, each with the layout (and the vault
// sub-pages with their shared parts). They are parsed on first use, not
// at package init: every CLI command links this package, and parsing
// costs a few milliseconds and over a megabyte a command never needs.
var pages = sync.OnceValue(func() map[string]*template.Template {
	funcs := template.FuncMap{"css": func() template.CSS { return template.CSS(styleCSS) }, "fmtTimeOf": fmtTime}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"proposal", "result", "list", "login", "logout", "message", "vaults", "invite",
		"setup", "register", "forgot", "reset", "account", "vaultsettings", "members", "instance", "oauth_callback"} {
		t := template.Must(base.Clone())
		out[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	addVaultPages(out)
	return out
})
