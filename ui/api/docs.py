"""The interactive API docs page: a self-contained page that reads /api/v1/openapi.json.

Why not Swagger UI: it loads its scripts from a CDN, and Tag My Photos must work offline on a
NAS; this page is one inline HTML document with a small script that lists every operation
and lets you try it (with your session, or an API key typed into the page).
"""

from __future__ import annotations

DOCS_HTML = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Tag My Photos API</title>
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
 header{background:#1d2430;color:#fff;padding:14px 24px;display:flex;gap:16px;align-items:center}
 header h1{font-size:18px;margin:0;flex:1} header input{width:340px;padding:6px}
 main{max-width:1100px;margin:0 auto;padding:16px 24px} h2{margin:28px 0 8px;text-transform:capitalize}
 details{background:#fff;border:1px solid #d8dce3;border-radius:6px;margin:6px 0}
 summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:center}
 .m{font-weight:700;width:64px;text-align:center;border-radius:4px;color:#fff;padding:2px 0;font-size:12px}
 .GET{background:#2f7d4f}.POST{background:#2d5fa8}.PATCH{background:#8a5a00}.DELETE{background:#a82d2d}
 .PUT{background:#6a3fa0} .p{font-family:ui-monospace,monospace} .s{color:#5b6472}
 form{padding:8px 16px 14px;border-top:1px solid #eceef2} label{display:block;margin:6px 0 2px}
 input,textarea{font:13px ui-monospace,monospace;box-sizing:border-box} form input{width:100%;padding:4px}
 textarea{width:100%;min-height:120px} pre{background:#11161f;color:#e8edf5;padding:10px;overflow:auto;
 max-height:420px;border-radius:4px} pre.intro{background:#fff;color:#1d2430;white-space:pre-wrap;
 border:1px solid #d8dce3;max-height:none} button{padding:6px 16px;margin-top:8px} .d{color:#5b6472;margin:4px 0}
</style></head><body>
<header><h1>Tag My Photos API</h1>
<input id="key" type="password" placeholder="API key (leave empty to use your login)" autocomplete="off">
<a href="openapi.json" style="color:#9cc3ff">openapi.json</a></header>
<main id="main"><p>Loading the schema…</p></main>
<script>
const keyBox = document.getElementById('key');
keyBox.value = sessionStorage.getItem('tmp-api-key') || '';
keyBox.addEventListener('change', () => { sessionStorage.setItem('tmp-api-key', keyBox.value); load(); });
function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (keyBox.value) h['X-API-Key'] = keyBox.value;
  return h;
}
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function resolve(schema, spec) {
  if (schema && schema.$ref) return resolve(spec.components.schemas[schema.$ref.split('/').pop()], spec);
  return schema || {};
}
function example(schema, spec, depth) {
  schema = resolve(schema, spec);
  if ((depth || 0) > 4) return null;
  if (schema.examples && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.anyOf) return example(schema.anyOf[0], spec, depth);
  if (schema.type === 'object' || schema.properties) {
    const out = {};
    for (const [k, v] of Object.entries(schema.properties || {})) out[k] = example(v, spec, (depth || 0) + 1);
    return out;
  }
  if (schema.type === 'array') return [];
  if (schema.enum) return schema.enum[0];
  return {string: '', integer: 0, number: 0, boolean: false}[schema.type] ?? null;
}
function operation(path, method, op, spec) {
  const box = el('details');
  const sum = el('summary');
  sum.append(el('span', {class: 'm ' + method.toUpperCase()}, method.toUpperCase()),
             el('span', {class: 'p'}, path), el('span', {class: 's'}, op.summary || ''));
  box.append(sum);
  const form = el('form');
  if (op.description) form.append(el('p', {class: 'd'}, op.description));
  const params = op.parameters || [];
  for (const p of params) {
    if (p.in === 'cookie' || p.in === 'header') continue;
    const sch = resolve(p.schema, spec);
    form.append(el('label', {}, `${p.name} (${p.in}${p.required ? ', required' : ''})` +
                   (p.description ? ' — ' + p.description : '')));
    form.append(el('input', {name: p.name, 'data-in': p.in,
                             placeholder: sch.default !== undefined ? String(sch.default) : ''}));
  }
  let body = null;
  if (op.requestBody) {
    const media = op.requestBody.content['application/json'];
    form.append(el('label', {}, 'JSON body'));
    body = el('textarea', {}, JSON.stringify(example(media && media.schema, spec), null, 2));
    form.append(body);
  }
  const out = el('pre', {hidden: ''});
  form.append(el('button', {type: 'submit'}, 'Send'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const input of form.querySelectorAll('input')) {
      if (!input.value) continue;
      const v = encodeURIComponent(input.value);
      if (input.dataset.in === 'path') url = url.replace('{' + input.name + '}', v);
      else query.append(input.name, input.value);
    }
    if ([...query].length) url += '?' + query;
    const init = {method: method.toUpperCase(), headers: headers(), credentials: 'same-origin'};
    if (body) { init.body = body.value; init.headers['Content-Type'] = 'application/json'; }
    out.hidden = false; out.textContent = '…';
    const resp = await fetch(url, init);
    const type = resp.headers.get('content-type') || '';
    if (type.startsWith('image/')) {
      const img = el('img', {src: URL.createObjectURL(await resp.blob()), style: 'max-width:100%'});
      out.textContent = `${resp.status} ${type}\n`; out.append(img); return;
    }
    const text = await resp.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
    out.textContent = `${resp.status} ${resp.statusText}\n\n${shown}`;
  });
  box.append(form);
  return box;
}
async function load() {
  const main = document.getElementById('main');
  const resp = await fetch('openapi.json', {headers: headers(), credentials: 'same-origin'});
  if (!resp.ok) {
    main.replaceChildren(el('p', {}, `The schema needs authentication (${resp.status}): ` +
                                  'type an API key above, or log in to the web UI first.'));
    return;
  }
  const spec = await resp.json();
  const groups = {};
  for (const [path, ops] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags || ['other'])[0];
      (groups[tag] = groups[tag] || []).push(operation(path, method, op, spec));
    }
  main.replaceChildren(el('pre', {class: 'intro'}, spec.info.description || ''));
  for (const tag of Object.keys(groups).sort()) main.append(el('h2', {}, tag), ...groups[tag]);
}
load();
</script></body></html>
"""
