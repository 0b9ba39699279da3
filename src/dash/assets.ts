/**
 * The dashboard's static assets, served by the Worker from /dash/assets (same origin, so the CSP allows
 * them with 'self'; nothing is fetched from a third party).
 */
import { liveClient } from "./live-client";

/**
 * /dash/assets/live.js: liveClient's compiled source, called once. esbuild (wrangler's bundler) keeps
 * function names with a module-level `__name` helper, which the function's source may then call: the
 * script defines it as the identity.
 */
export const LIVE_JS = `"use strict";\nvar __name = (target) => target;\n(${liveClient.toString()})();\n`;

/** /dash/assets/icon.svg: a sundial's dial and gnomon (so the browser asks for no /favicon.ico). */
export const ICON_SVG =
	'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#2f5bd3"/>' +
	'<path d="M16 16 L16 4 L24 16 Z" fill="#fff"/></svg>';

/** /dash/assets/dash.css. */
export const DASH_CSS = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5d6678; --line: #d9dde5; --card: #ffffff; --bg: #f4f6f9;
  --accent: #2f5bd3; --bad: #b3261e; --ok: #1e7b34; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e7ee; --muted: #9aa3b5; --line: #323a4a; --card: #1b2130;
  --bg: #121722; --accent: #7ea2ff; --bad: #ff8a80; --ok: #7fd992; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; justify-content: space-between; padding: 10px 24px;
  border-bottom: 1px solid var(--line); background: var(--card); }
header nav { display: flex; gap: 16px; align-items: center; }
.brand { font-weight: 700; font-size: 16px; color: var(--fg); text-decoration: none; }
.who { color: var(--muted); }
main { padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0 16px; word-break: break-all; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 14px 0 6px; display: flex; gap: 12px; align-items: center; }
a { color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin: 0 0 16px; }
.narrow { max-width: 560px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.bad, .error, .error-text { color: var(--bad); }
.error-text { word-break: break-word; max-width: 420px; }
.note { color: var(--muted); }
.notice { background: var(--card); border-left: 4px solid var(--ok); padding: 8px 12px; }
.tag { margin-left: 6px; font-size: 11px; padding: 1px 6px; border-radius: 8px; border: 1px solid var(--line); }
.state { font-size: 12px; padding: 1px 8px; border-radius: 8px; border: 1px solid var(--line); }
.state.delivered { color: var(--ok); } .state.dead { color: var(--bad); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; word-break: break-word; }
form.inline { display: inline; }
form.stack label, form.lookup label { display: inline-flex; flex-direction: column; gap: 2px; margin-right: 12px; }
form.lookup { display: flex; align-items: flex-end; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
form.stack textarea { width: 100%; font-family: ui-monospace, monospace; }
.row { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
input, select, textarea, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line);
  border-radius: 6px; padding: 4px 8px; }
button { cursor: pointer; background: var(--accent); color: #fff; border: 0; }
button.danger { background: var(--bad); }
header button { background: transparent; color: var(--accent); border: 1px solid var(--line); }
.actions { display: inline-flex; gap: 6px; }
pre.body { background: var(--bg); padding: 10px; border-radius: 6px; overflow: auto; max-height: 320px; }
.histogram { margin: 0 0 12px; }
.histogram svg { max-width: 100%; height: auto; }
.histogram .bar { fill: var(--accent); }
.histogram text { fill: var(--muted); font-size: 10px; text-anchor: middle; }
.histogram .axis-title { text-anchor: start; }
.live-status .live { color: var(--ok); } .live-status .down { color: var(--bad); }
tr.event.dead td, tr.event.retry_scheduled td { color: var(--bad); }
tr.event.delivered td { color: var(--ok); }
.crumbs { color: var(--muted); }
.issues code, .error code { font-weight: 600; }
`;
