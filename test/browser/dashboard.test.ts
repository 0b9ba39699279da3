import { copyFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useSundial } from "../e2e/fixture.js";
import { addWebhook, createWebhookTopic, type Sundial } from "../e2e/lib.js";
import type { Receiver } from "../support/receiver.js";
import { repoRoot } from "../support/wrangler.js";
import { launch, SHOTS_DIR } from "./browser.js";

/**
 * The dashboard in a real browser against the real Worker: sign-in, message lookup, dead-letter redrive,
 * a delivery event arriving on the live view, and the publish and delivery rates filled in. Screenshots go to test-results/browser/;
 * UPDATE_DOCS_SCREENSHOT=1 also copies the topic page's to docs/dashboard.png (the README's).
 */

const TOPIC = "orders";

describe("dashboard in Chromium", () => {
	let sundial: Sundial;
	let receiver: Receiver;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	const problems: string[] = [];

	useSundial(async (s, r) => {
		sundial = s;
		receiver = r as Receiver;
		receiver.behaviour("/fail", { status: 500, body: "no" });
		await createWebhookTopic(sundial, TOPIC, "billing", `${receiver.url}/ok`);
		await addWebhook(sundial, TOPIC, "audit", `${receiver.url}/fail`, { retry: { max_attempts: 1 } });
		const sent = await sundial.api("POST", `/v1/topics/${TOPIC}/messages`, { id: "order-1", body: { total: 42 } });
		expect(sent.status).toBe(201);
		await receiver.waitFor((got) => got.filter((r) => r.path === "/fail").length >= 1);
	});

	// No browser fails every test with launch()'s message (a failing beforeAll would only skip them).
	let missing: Error | null = null;
	beforeEach(() => {
		if (missing) throw missing;
	});

	beforeAll(async () => {
		try {
			browser = await launch();
		} catch (error) {
			missing = error as Error;
			return;
		}
		context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		page = await context.newPage();
		// A CSP violation, a script error or a failed subresource fails the test (pages answer 401 on purpose).
		page.on("console", (m) => {
			if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
		});
		page.on("pageerror", (e) => problems.push(e.message));
		page.on("response", (r) => {
			if (r.status() >= 400 && r.request().resourceType() !== "document") problems.push(`${r.status()} ${r.url()}`);
		});
	});

	afterAll(async () => {
		await browser?.close();
	});

	const shot = (name: string) => page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
	/** Dead letters of `audit` (from the API). */
	const deadCount = async () =>
		(await sundial.api<{ dead: unknown[] }>("GET", `/v1/topics/${TOPIC}/subscriptions/audit/dead`)).body.dead.length;

	it("signs in with the token and keeps the session in an HttpOnly, Secure, SameSite=Strict cookie", async () => {
		const url = sundial.worker.url;
		const first = await page.goto(`${url}/dash`);
		expect(first?.status()).toBe(401);
		await page.fill('input[name="token"]', "not-the-token");
		await page.click('button:has-text("Sign in")');
		await expect.poll(() => page.textContent("p.error")).toContain("Wrong, revoked or expired token");
		await page.fill('input[name="token"]', sundial.token);
		await page.click('button:has-text("Sign in")');
		await page.waitForURL(`${url}/dash`);
		expect(await page.textContent("h1")).toBe("Topics");
		const cookies = await context.cookies(`${url}/dash`);
		expect(cookies.map((c) => c.name)).toEqual(["sundial_session"]);
		expect(cookies[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/dash" });
		expect(cookies[0]?.value).not.toContain(sundial.token);
		expect(await page.textContent(`a[href="/dash/topics/${TOPIC}"]`)).toBe(TOPIC);
		await shot("topics");
	});

	it("shows a delivery event arrive on the live view", async () => {
		await page.click(`a[href="/dash/topics/${TOPIC}"]`);
		await page.waitForSelector("#live-state.live", { timeout: 20_000 });
		const sent = await sundial.api("POST", `/v1/topics/${TOPIC}/messages`, { id: "live-1", body: { live: true } });
		expect(sent.status).toBe(201);
		const delivered = page.locator('#live-events tr[data-type="delivered"]', { hasText: "live-1" });
		await delivered.first().waitFor({ timeout: 20_000 });
		expect(await page.locator('#live-events tr[data-type="published"]', { hasText: "live-1" }).count()).toBe(1);
		expect(await page.textContent("#live-rate")).toMatch(/publish rate: [1-9]\d* in the last minute/);
		await shot("topic");
		if (process.env.UPDATE_DOCS_SCREENSHOT === "1") {
			copyFileSync(join(SHOTS_DIR, "topic.png"), join(repoRoot, "docs", "dashboard.png"));
		}
	});

	it("looks a message up by id and shows each delivery's timeline", async () => {
		await page.fill('form.lookup input[name="id"]', "order-1");
		await page.click('form.lookup button:has-text("Look up")');
		await page.waitForSelector("#timeline");
		expect(await page.textContent("h1")).toBe("order-1");
		expect(await page.textContent('.delivery[data-subscription="billing"] .state')).toBe("delivered");
		expect(await page.textContent('.delivery[data-subscription="audit"] .state')).toBe("dead");
		expect(await page.textContent('.delivery[data-subscription="audit"]')).toContain("HTTP 500");
		expect(await page.textContent("pre.body")).toContain('"total": 42');
		await shot("message");
	});

	it("redrives a dead letter: it is attempted again", async () => {
		expect(await deadCount()).toBe(2); // order-1 and live-1
		const attempts = () => receiver.received.filter((r) => r.path === "/fail" && r.headers["webhook-id"] === "order-1");
		const before = attempts().length;
		await page.click(`a[href="/dash/topics/${TOPIC}"]`);
		const row = page.locator('.dead[data-subscription="audit"] tr', { hasText: "order-1" });
		await row.locator('button:has-text("Redrive")').click();
		await page.waitForSelector("p.notice");
		expect(await page.textContent("p.notice")).toBe("Redriven: 1 scheduled again now.");
		await receiver.waitFor(() => attempts().length > before, 20_000);
		await shot("redriven");
	});

	it("shows publish and delivery rates per second on the topics list and the topic page", async () => {
		await page.goto(`${sundial.worker.url}/dash`);
		const rate = (kind: string) => page.locator(`[data-rate="${kind}"][data-topic="${TOPIC}"]`);
		expect(await rate("published").textContent()).toBe("…"); // before the script's first reading
		for (let i = 0; i < 3; i++) {
			const sent = await sundial.api("POST", `/v1/topics/${TOPIC}/messages`, { id: `rate-${i}`, body: { i } });
			expect(sent.status).toBe(201);
		}
		const perSecond = /^\d+(\.\d)?\/s$/;
		await expect.poll(() => rate("published").textContent(), { timeout: 8_000, interval: 200 }).toMatch(perSecond);
		expect(Number.parseFloat((await rate("published").textContent()) ?? "")).toBeGreaterThan(0);
		expect(await rate("delivered").textContent()).toMatch(perSecond);
		await shot("topics-rates");

		await page.click(`a[href="/dash/topics/${TOPIC}"]`);
		expect(await rate("delivered").textContent()).toBe("…");
		await expect.poll(() => rate("delivered").textContent(), { timeout: 8_000, interval: 200 }).toMatch(perSecond);
		expect(await rate("published").textContent()).toMatch(perSecond);
	});

	it("ran without a CSP violation, script error or failed asset", () => {
		expect(problems).toEqual([]);
	});
});
