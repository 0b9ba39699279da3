/** HTTP methods a path item can hold, in the order the page lists them. */
const METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"] as const;
type Method = (typeof METHODS)[number];

/** A JSON reference, e.g. `{"$ref": "#/components/schemas/Topic"}`. */
export interface Reference {
	$ref: string;
}

/** One operation parameter (path, query, header or cookie). */
export interface Parameter {
	name: string;
	in: string;
	required?: boolean;
	description?: string;
	schema?: unknown;
}

/** Request or response content, keyed by media type. */
export type Content = Record<string, { schema?: unknown }>;

/** The subset of an OpenAPI 3.1 operation the page renders. */
export interface Operation {
	summary?: string;
	description?: string;
	tags?: string[];
	deprecated?: boolean;
	parameters?: (Parameter | Reference)[];
	requestBody?: { description?: string; required?: boolean; content?: Content } | Reference;
	responses?: Record<string, { description?: string; content?: Content } | Reference>;
}

/** The subset of an OpenAPI 3.1 document the page renders (a full document is assignable to it). */
export interface OpenAPIDocument {
	info: { title: string; version: string; description?: string };
	tags?: { name: string; description?: string }[];
	paths?: Record<string, Partial<Record<Method, Operation>>>;
	components?: { schemas?: Record<string, unknown> };
}

interface Entry {
	method: Method;
	path: string;
	op: Operation;
	id: string;
}

/** Schema name → anchor id, so `$ref`s can link to the Components section. */
type SchemaIds = Map<string, string>;

const SCHEMA_REF_PREFIX = "#/components/schemas/";
const MAX_JSON_DEPTH = 40;

/** Renders an OpenAPI document as a self-contained HTML reference page (inline CSS, no scripts, no external assets). */
export function renderDocsPage(doc: OpenAPIDocument): string {
	const taken = new Set<string>();
	const uniqueId = (base: string): string => {
		const slug = base.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "x";
		let id = slug;
		for (let n = 2; taken.has(id); n++) id = `${slug}-${n}`;
		taken.add(id);
		return id;
	};
	const schemas = Object.entries(doc.components?.schemas ?? {});
	const schemaIds: SchemaIds = new Map(schemas.map(([name]) => [name, uniqueId(`schema-${name}`)]));
	const groups = new Map<string, Entry[]>((doc.tags ?? []).map((tag) => [tag.name, []]));
	for (const [path, item] of Object.entries(doc.paths ?? {})) {
		for (const method of METHODS) {
			const op = item[method];
			if (op === undefined) continue;
			const tag = op.tags?.[0] ?? "Other";
			const entries = groups.get(tag) ?? [];
			entries.push({ method, path, op, id: uniqueId(`op-${method}-${path}`) });
			groups.set(tag, entries);
		}
	}
	const sections = [...groups]
		.filter(([, entries]) => entries.length > 0)
		.map(([tag, entries]) => ({
			tag,
			id: uniqueId(`tag-${tag}`),
			description: doc.tags?.find((t) => t.name === tag)?.description,
			entries,
		}));
	const componentsId = uniqueId("components");

	const toc = sections
		.map((s) => {
			const items = s.entries
				.map(
					(e) =>
						`<li><a href="#${e.id}">${methodBadge(e.method)} <code>${esc(e.path)}</code></a>` +
						`${e.op.summary ? ` <span class="muted">${esc(e.op.summary)}</span>` : ""}</li>`,
				)
				.join("");
			return `<li><a href="#${s.id}">${esc(s.tag)}</a><ul>${items}</ul></li>`;
		})
		.join("");
	const body = sections
		.map(
			(s) =>
				`<section id="${s.id}"><h2>${esc(s.tag)}</h2>${prose(s.description)}` +
				`${s.entries.map((e) => renderOperation(e, schemaIds)).join("")}</section>`,
		)
		.join("\n");
	const components =
		schemas.length === 0
			? ""
			: `<section id="${componentsId}"><h2>Components</h2>${schemas
					.map(
						([name, schema]) =>
							`<h3 id="${schemaIds.get(name)}"><code>${esc(name)}</code></h3>` +
							`<pre>${jsonHtml(schema, schemaIds)}</pre>`,
					)
					.join("")}</section>`;
	const componentsToc = schemas.length === 0 ? "" : `<li><a href="#${componentsId}">Components</a></li>`;
	const { title, version, description } = doc.info;
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} API reference</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(title)} <span class="version">${esc(version)}</span></h1>${prose(description)}
<p class="muted">Machine-readable: <a href="/openapi.json">openapi.json</a></p></header>
<nav aria-label="Contents"><h2>Contents</h2><ul class="toc">${toc}${componentsToc}</ul></nav>
${body}
${components}
</main>
</body>
</html>
`;
}

function renderOperation({ method, path, op, id }: Entry, schemaIds: SchemaIds): string {
	const parts = [
		`<article class="op" id="${id}">`,
		`<h3>${methodBadge(method)} <code class="path">${esc(path)}</code>`,
		op.deprecated ? ' <span class="tag-deprecated">deprecated</span>' : "",
		"</h3>",
		op.summary ? `<p class="summary">${esc(op.summary)}</p>` : "",
		prose(op.description),
	];
	if (op.parameters && op.parameters.length > 0) {
		const rows = op.parameters.map((p) =>
			isReference(p)
				? `<tr><td colspan="4">${refHtml(p.$ref, schemaIds)}</td></tr>`
				: `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ""}</td>` +
					`<td>${esc(p.in)}</td><td>${schemaSummary(p.schema, schemaIds)}</td><td>${esc(p.description ?? "")}</td></tr>`,
		);
		parts.push(
			"<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead>",
			`<tbody>${rows.join("")}</tbody></table>`,
		);
	}
	const request = op.requestBody;
	if (request !== undefined) {
		parts.push("<h4>Request body</h4>");
		if (isReference(request)) parts.push(`<p>${refHtml(request.$ref, schemaIds)}</p>`);
		else parts.push(prose(request.description), contentHtml(request.content, schemaIds));
	}
	const responses = Object.entries(op.responses ?? {});
	if (responses.length > 0) {
		parts.push("<h4>Responses</h4>");
		for (const [status, response] of responses) {
			const detail = isReference(response) ? refHtml(response.$ref, schemaIds) : esc(response.description ?? "");
			const content = isReference(response) ? "" : contentHtml(response.content, schemaIds);
			parts.push(
				`<div class="response"><p><span class="status s${esc(status.charAt(0))}">${esc(status)}</span> ${detail}</p>${content}</div>`,
			);
		}
	}
	parts.push("</article>");
	return parts.join("");
}

function contentHtml(content: Content | undefined, schemaIds: SchemaIds): string {
	return Object.entries(content ?? {})
		.map(
			([mediaType, media]) =>
				`<p class="media">${esc(mediaType)}</p>` +
				(media.schema === undefined ? "" : `<pre>${jsonHtml(media.schema, schemaIds)}</pre>`),
		)
		.join("");
}

/** A one-cell description of a parameter schema: type, format, allowed values, default. */
function schemaSummary(schema: unknown, schemaIds: SchemaIds): string {
	if (!isRecord(schema)) return "";
	if (isReference(schema)) return refHtml(schema.$ref, schemaIds);
	const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
	if (typeof type !== "string") return `<pre>${jsonHtml(schema, schemaIds)}</pre>`;
	let html = esc(type);
	if (typeof schema.format === "string") html += ` <span class="muted">(${esc(schema.format)})</span>`;
	if (Array.isArray(schema.enum)) {
		html += `<br>one of ${schema.enum.map((v) => `<code>${esc(JSON.stringify(v) ?? "")}</code>`).join(", ")}`;
	}
	if (schema.default !== undefined) {
		html += `<br>default <code>${esc(JSON.stringify(schema.default) ?? "")}</code>`;
	}
	return html;
}

/** Pretty-printed JSON as HTML, with `$ref`s to component schemas shown as links. */
function jsonHtml(value: unknown, schemaIds: SchemaIds, indent = "", depth = 0): string {
	if (depth > MAX_JSON_DEPTH) return "…";
	if (isReference(value)) return refHtml(value.$ref, schemaIds);
	const inner = `${indent}  `;
	if (Array.isArray(value)) {
		if (value.every((item) => item === null || typeof item !== "object")) {
			return `[${value.map((item) => esc(JSON.stringify(item) ?? "null")).join(", ")}]`;
		}
		const items = value.map((item) => inner + jsonHtml(item, schemaIds, inner, depth + 1));
		return `[\n${items.join(",\n")}\n${indent}]`;
	}
	if (isRecord(value)) {
		const entries = Object.entries(value);
		if (entries.length === 0) return "{}";
		const items = entries.map(
			([key, item]) =>
				`${inner}<span class="key">${esc(JSON.stringify(key))}</span>: ${jsonHtml(item, schemaIds, inner, depth + 1)}`,
		);
		return `{\n${items.join(",\n")}\n${indent}}`;
	}
	return esc(JSON.stringify(value) ?? "null");
}

function refHtml(ref: string, schemaIds: SchemaIds): string {
	if (!ref.startsWith(SCHEMA_REF_PREFIX)) return `<code>${esc(ref)}</code>`;
	const name = ref.slice(SCHEMA_REF_PREFIX.length).replaceAll("~1", "/").replaceAll("~0", "~");
	const id = schemaIds.get(name);
	return id === undefined ? `<code>${esc(name)}</code>` : `<a class="ref" href="#${id}">${esc(name)}</a>`;
}

function methodBadge(method: Method): string {
	return `<span class="method m-${method}">${method.toUpperCase()}</span>`;
}

/** Paragraphs from plain text; `backticks` become code. */
function prose(text: string | undefined): string {
	if (!text) return "";
	return text
		.split(/\n\s*\n/)
		.map((para) => `<p class="prose">${esc(para.trim()).replace(/`([^`]+)`/g, "<code>$1</code>")}</p>`)
		.join("");
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isReference(value: unknown): value is Reference {
	return isRecord(value) && typeof value.$ref === "string";
}

const ESCAPES: Record<string, string> = {
	"&": "&amp;",
	"<": "&lt;",
	">": "&gt;",
	'"': "&quot;",
	"'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
function esc(text: string): string {
	return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const CSS = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;--link:#0969da;--red:#cf222e;--green:#1a7f37}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--panel:#161b22;--line:#30363d;--link:#4493f8;--red:#f85149;--green:#3fb950}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:960px;margin:0 auto;padding:2rem 1.25rem 4rem}a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
h1{margin:0 0 .5rem}h2{margin-top:2.5rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}h3{margin:0 0 .5rem;font-size:1.1rem}h4{margin:1rem 0 .4rem;font-size:.95rem;color:var(--muted)}
code,pre{font:.875em/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.75rem;overflow-x:auto;margin:.25rem 0}
.prose{white-space:pre-line}.muted,.key,.media{color:var(--muted)}.version{font-size:.9rem;color:var(--muted);font-weight:400}.summary{font-weight:600;margin:.25rem 0}
.toc,.toc ul{list-style:none;padding-left:0}.toc ul{padding-left:1rem;margin:.25rem 0 .75rem}.toc li{margin:.15rem 0}.op{border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin:1.25rem 0}
.method,.status{display:inline-block;padding:0 .45em;border-radius:4px;font:700 .75rem/1.7 ui-monospace,monospace;text-align:center}.method{min-width:4.6em;color:#fff;background:#6e7781}
.m-get{background:#1a7f37}.m-post{background:#0969da}.m-put{background:#9a6700}.m-patch{background:#8250df}.m-delete{background:#cf222e}.status{background:var(--panel);border:1px solid var(--line)}
table{border-collapse:collapse;width:100%;font-size:.925rem}th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:var(--panel)}
.req,.tag-deprecated,.s4,.s5{color:var(--red)}.req{font-size:.75rem}.s2{color:var(--green)}.media{margin:.5rem 0 0;font-size:.85rem}
`;
