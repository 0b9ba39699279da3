/**
 * The dashboard's one script: the publish and delivery rates of the topics list and a topic page, and
 * the live events of a topic page. It runs in the browser, not the Worker:
 * assets.ts serves this function's source (compiled by wrangler's bundler like the rest of the Worker)
 * at /dash/assets/live.js, so there is no build step of its own. It must reference nothing outside its
 * body. Events are written as text (textContent), never as markup.
 */

/** The few DOM calls the script makes (the Worker's types have no DOM). */
interface El {
	textContent: string | null;
	className: string;
	getAttribute(name: string): string | null;
	setAttribute(name: string, value: string): void;
	append(...nodes: El[]): void;
	prepend(...nodes: El[]): void;
	readonly childElementCount: number;
	readonly lastElementChild: El | null;
	remove(): void;
}
interface Doc {
	getElementById(id: string): El | null;
	createElement(tag: string): El;
	querySelectorAll(selector: string): ArrayLike<El>;
}

/** A topic's totals as GET /dash/topics.json answers them. */
interface Totals {
	name: string;
	published_total: number;
	delivered_total: number;
	read_at_ms: number;
}
interface Place {
	protocol: string;
	host: string;
}

/**
 * Fills in the page's rates, then connects the topic page's live section to its tail and keeps the
 * newest events on screen.
 */
export function liveClient(): void {
	const g = globalThis as unknown as { document: Doc; location: Place };

	// Rates: each [data-rate] cell carries a total and when the Worker read it. Every 5 s the totals are
	// read again (GET /dash/topics.json, with the session cookie) and the cell shows the rate in between;
	// until then it shows "…".
	const rateCells = Array.from(g.document.querySelectorAll("[data-rate][data-topic]"));
	const rateTopics = [...new Set(rateCells.map((c) => c.getAttribute("data-topic") ?? ""))].filter((n) => n !== "");
	const perSecond = (r: number): string => `${r < 10 ? r.toFixed(1) : String(Math.round(r))}/s`;
	const pollTotals = async (): Promise<void> => {
		let topics: Totals[];
		try {
			const query = rateTopics.map((n) => `topic=${encodeURIComponent(n)}`).join("&");
			const res = await fetch(`/dash/topics.json?${query}`, { headers: { accept: "application/json" } });
			if (!res.ok) return;
			topics = ((await res.json()) as { topics?: Totals[] }).topics ?? [];
		} catch {
			return;
		}
		const byName = new Map(topics.map((t) => [t.name, t]));
		for (const cell of rateCells) {
			const t = byName.get(cell.getAttribute("data-topic") ?? "");
			if (!t) continue;
			const kind = cell.getAttribute("data-rate");
			const total = kind === "published" ? t.published_total : t.delivered_total;
			const before = Number(cell.getAttribute("data-total"));
			const seconds = (t.read_at_ms - Number(cell.getAttribute("data-read-at-ms"))) / 1000;
			// A total that went down (a subscription deleted, the topic made anew) starts over: no rate this time.
			cell.textContent = seconds > 0 && total >= before ? perSecond((total - before) / seconds) : "…";
			cell.setAttribute("data-total", String(total));
			cell.setAttribute("data-read-at-ms", String(t.read_at_ms));
			cell.setAttribute("title", `${total} ${kind} in all`);
		}
	};
	if (rateTopics.length > 0) setInterval(() => void pollTotals(), 5000);

	const root = g.document.getElementById("live");
	const rows = g.document.getElementById("live-events");
	const state = g.document.getElementById("live-state");
	const rate = g.document.getElementById("live-rate");
	const path = root?.getAttribute("data-tail");
	const topic = root?.getAttribute("data-topic") ?? "";
	if (!root || !rows || !state || !rate || !path) return;
	const MAX_ROWS = 200;
	const publishedAtMs: number[] = [];
	let attempt = 0;

	const cell = (text: string, cls?: string): El => {
		const td = g.document.createElement("td");
		td.textContent = text;
		if (cls) td.className = cls;
		return td;
	};
	const str = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

	const showRate = (): void => {
		const since = Date.now() - 60_000;
		while (publishedAtMs.length > 0 && (publishedAtMs[0] as number) < since) publishedAtMs.shift();
		rate.textContent = `publish rate: ${publishedAtMs.length} in the last minute`;
	};

	const add = (e: Record<string, unknown>): void => {
		const tr = g.document.createElement("tr");
		tr.className = `event ${str(e.type)}`;
		tr.setAttribute("data-type", str(e.type));
		const message = cell("");
		if (typeof e.message_id === "string") {
			const a = g.document.createElement("a");
			a.setAttribute("href", `/dash/message?topic=${encodeURIComponent(topic)}&id=${encodeURIComponent(e.message_id)}`);
			a.textContent = e.message_id;
			message.append(a);
		}
		const result = [e.outcome, e.status, e.error].filter((v) => v !== null && v !== undefined).map(str);
		if (e.type === "dropped") result.push(`${str(e.count)} events not forwarded`);
		tr.append(
			cell(str(e.at).slice(11, 23)),
			cell(str(e.type)),
			cell(str(e.subscription)),
			message,
			cell(str(e.attempt), "num"),
			cell(result.join(" · ")),
			cell(typeof e.lateness_ms === "number" ? `${e.lateness_ms} ms` : "", "num"),
		);
		rows.prepend(tr);
		while (rows.childElementCount > MAX_ROWS) rows.lastElementChild?.remove();
	};

	const connect = (): void => {
		const scheme = g.location.protocol === "https:" ? "wss:" : "ws:";
		const ws = new WebSocket(`${scheme}//${g.location.host}${path}`, ["sundial.tail.v1"]);
		ws.addEventListener("message", (m: MessageEvent) => {
			let e: Record<string, unknown>;
			try {
				e = JSON.parse(String(m.data)) as Record<string, unknown>;
			} catch {
				return;
			}
			if (e.type === "ready") {
				attempt = 0;
				state.textContent = "live";
				state.className = "live";
				return;
			}
			if (e.type === "published") publishedAtMs.push(Date.now());
			add(e);
			showRate();
		});
		ws.addEventListener("close", (c: CloseEvent) => {
			state.className = "down";
			if (c.code === 4404) {
				state.textContent = "the topic was deleted";
				return;
			}
			attempt += 1;
			const waitMs = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
			state.textContent = `disconnected; reconnecting in ${Math.round(waitMs / 1000)} s`;
			setTimeout(connect, waitMs);
		});
	};
	setInterval(showRate, 5000);
	connect();
}
