import { describe, expect, it } from "vitest";
import { type OpenAPIDocument, renderDocsPage } from "../../src/http/docs-page";

const doc: OpenAPIDocument = {
	info: {
		title: "Sundial & friends",
		version: "0.1.0",
		description: "A delay queue.\n\nUse `Authorization: Bearer <token>`.",
	},
	tags: [{ name: "Topics", description: "Create and inspect topics." }, { name: "Empty" }],
	paths: {
		"/v1/topics/{topic}": {
			put: {
				tags: ["Topics"],
				summary: "Create or update a topic",
				description: "Careful: <script>alert('x')</script>",
				parameters: [
					{
						name: "topic",
						in: "path",
						required: true,
						description: "Topic name",
						schema: { type: "string", pattern: "^[A-Za-z0-9]" },
					},
				],
				requestBody: {
					content: {
						"application/json": {
							schema: { $ref: "#/components/schemas/TopicConfig" },
						},
					},
				},
				responses: {
					"201": {
						description: "Created",
						content: {
							"application/json": {
								schema: { $ref: "#/components/schemas/Topic" },
							},
						},
					},
					"400": { description: "Invalid <name>" },
				},
			},
			delete: {
				tags: ["Topics"],
				summary: "Delete a topic",
				responses: { "204": { description: "Deleted" } },
			},
		},
		"/health": {
			get: {
				summary: "Health check",
				parameters: [
					{
						name: "verbose",
						in: "query",
						schema: { type: "string", enum: ["yes", "no"], default: "no" },
					},
				],
				responses: { "200": { description: "OK" } },
			},
		},
	},
	components: {
		schemas: {
			TopicConfig: {
				type: "object",
				properties: { retention: { type: "string", examples: ["7d"] } },
			},
			Topic: {
				type: "object",
				properties: {
					name: { type: "string" },
					config: { $ref: "#/components/schemas/TopicConfig" },
					"</pre>": { type: "string" },
				},
				required: ["name"],
			},
		},
	},
};

describe("renderDocsPage", () => {
	const html = renderDocsPage(doc);

	it("is a complete HTML page with the title and description", () => {
		expect(html.startsWith("<!doctype html>")).toBe(true);
		expect(html).toContain("</html>");
		expect(html).toContain("<title>Sundial &amp; friends API reference</title>");
		expect(html).toContain("0.1.0");
		expect(html).toContain("<code>Authorization: Bearer &lt;token&gt;</code>");
	});

	it("lists every operation with its method, path and summary", () => {
		expect(html).toMatch(/class="method m-put">PUT<\/span> <code class="path">\/v1\/topics\/\{topic\}/);
		expect(html).toMatch(/class="method m-delete">DELETE<\/span>/);
		expect(html).toMatch(/class="method m-get">GET<\/span> <code class="path">\/health/);
		expect(html).toContain("Create or update a topic");
		expect(html).toContain("Delete a topic");
		expect(html).toContain("Health check");
	});

	it("groups the table of contents by tag, untagged operations last", () => {
		const nav = html.slice(html.indexOf("<nav"), html.indexOf("</nav>"));
		expect(nav).toContain(">Topics</a>");
		expect(nav).toContain(">Other</a>");
		expect(nav).not.toContain(">Empty</a>");
		expect(nav.indexOf(">Topics</a>")).toBeLessThan(nav.indexOf(">Other</a>"));
		for (const id of nav.matchAll(/href="#([^"]+)"/g)) {
			expect(html).toContain(`id="${id[1]}"`);
		}
		expect(html).toContain("Create and inspect topics.");
	});

	it("renders parameters, request body and responses", () => {
		expect(html).toContain("<code>topic</code>");
		expect(html).toContain('<span class="req">required</span>');
		expect(html).toContain("Topic name");
		expect(html).toContain("one of <code>&quot;yes&quot;</code>, <code>&quot;no&quot;</code>");
		expect(html).toContain("Request body");
		expect(html).toMatch(/class="status s2">201<\/span> Created/);
		expect(html).toContain("Invalid &lt;name&gt;");
		expect(html).toContain("application/json");
	});

	it("links $refs to the Components section", () => {
		expect(html).toContain('<a class="ref" href="#schema-TopicConfig">TopicConfig</a>');
		expect(html).toContain('<a class="ref" href="#schema-Topic">Topic</a>');
		expect(html).toContain('<h3 id="schema-TopicConfig">');
		expect(html).toContain('<h3 id="schema-Topic">');
		expect(html).toContain("&quot;retention&quot;");
	});

	it("escapes text taken from the document", () => {
		expect(html).not.toContain("<script>");
		expect(html).toContain("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
		expect(html).not.toContain('"</pre>"');
		expect(html).toContain("&quot;&lt;/pre&gt;&quot;");
	});

	it("loads no external assets and needs no JavaScript", () => {
		expect(html).not.toMatch(/src=["']?https?:/i);
		expect(html).not.toMatch(/<link[^>]+rel=["']?stylesheet/i);
		expect(html).not.toMatch(/<script/i);
		expect(html).not.toMatch(/@import/i);
		expect(html).toContain("<style>");
	});

	it("renders a document without paths or components", () => {
		const minimal = renderDocsPage({ info: { title: "Empty", version: "1" } });
		expect(minimal).toContain("<h1>Empty");
		expect(minimal).not.toContain("Components</h2>");
	});

	it("gives operations unique anchors", () => {
		const page = renderDocsPage({
			info: { title: "t", version: "1" },
			paths: {
				"/a/{b}": { get: { summary: "one" } },
				"/a/b": { get: { summary: "two" } },
			},
		});
		const ids = [...page.matchAll(/<article class="op" id="([^"]+)"/g)].map((m) => m[1]);
		expect(ids).toHaveLength(2);
		expect(new Set(ids).size).toBe(2);
	});
});
