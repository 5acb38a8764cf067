package web

// vaultCSS styles the vault's sub-pages; it is part of the one hashed
// style sheet (styleCSS). Narrow screens (375 px) get stacked forms and
// tables that scroll sideways inside their box, never the page.
const vaultCSS = `
.crumbs{margin:0 0 6px;color:var(--muted);font-size:14px}
nav.tabs{display:flex;flex-wrap:wrap;gap:4px;border-bottom:1px solid var(--line);margin:6px 0 14px}
nav.tabs a{padding:6px 12px;border:1px solid transparent;border-bottom:0;border-radius:6px 6px 0 0;text-decoration:none;color:var(--accent)}
nav.tabs a[aria-current=page]{background:var(--card);border-color:var(--line);color:var(--fg);font-weight:600;margin-bottom:-1px}
.scroll{overflow-x:auto;margin:8px 0}
input[type=text],input[type=search],input[type=datetime-local],select{width:100%;max-width:440px;padding:7px 10px;border:1px solid #b8c0cc;border-radius:6px;font:inherit;background:#fff;color:var(--fg)}
textarea.code,textarea.secret,input.secret{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
input.secret{max-width:100%}
fieldset{border:1px solid var(--line);border-radius:8px;padding:4px 14px 12px;margin:14px 0;background:var(--card)}
legend{font-weight:700;padding:0 6px}
fieldset.surfaces{border:0;padding:0;margin:6px 0;background:none}
fieldset.surfaces legend{font-weight:600;padding:0}
.check{display:inline-flex;align-items:center;gap:6px;margin:8px 14px 0 0}
.check label{display:inline;margin:0;font-weight:400}
.auth-group{border-top:1px dashed var(--line);margin-top:10px}
.auth-group h2{font-size:14px;margin:10px 0 0;color:var(--muted)}
.sub-row{border-top:1px dashed var(--line);padding-top:4px;margin-top:8px}
.field-error{color:var(--bad);font-weight:600;margin:4px 0;overflow-wrap:anywhere}
[aria-invalid=true]{border-color:var(--bad);outline:1px solid var(--bad)}
.form-card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:2px 16px 14px;margin:18px 0}
.row-actions a,.row-actions form{display:inline-block;margin:0 10px 4px 0}
.inline-form{margin:0 0 6px}
.inline-form input[type=text],.inline-form select{width:auto;max-width:160px;padding:3px 6px}
label.small{font-size:12px;font-weight:600;margin:2px 0;color:var(--muted)}
button.small{font-size:13px;padding:3px 10px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--fg)}
a.button{display:inline-block;background:var(--accent);color:#fff;border-radius:6px;padding:7px 14px;text-decoration:none;font-weight:600;margin:0 6px 6px 0}
a.danger-link{color:var(--bad)}
.toolbar{margin:10px 0}
.binding{margin:0 0 4px}
form.bind input[type=text]{width:auto;max-width:200px;padding:3px 6px}
ul.catalog{list-style:none;padding:0;margin:10px 0}
form.search input[type=search]{max-width:320px}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:8px;padding:12px 14px}
.filters-form .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:0 12px}
.status{font-weight:700}
.status.s2xx{color:var(--ok)}
.status.s4xx,.status.s5xx{color:var(--bad)}
.pager a{margin-right:14px}
.badge.pending{color:#7a4b00}
@media (max-width:600px){main{padding:0 10px;margin:12px auto}header.top{flex-wrap:wrap;padding:8px 10px}header.top nav{flex-wrap:wrap}table.list th,table.list td{padding:6px}h1{font-size:20px}
table.stack thead{display:none}table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}table.stack tr{border-bottom:2px solid var(--line);padding:6px 0}table.stack td{border:0;padding:3px 10px}
table.stack td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted);font-size:13px}}
`
