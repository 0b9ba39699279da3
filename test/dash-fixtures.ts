import { expect } from "vitest";
import { behave, json, topicWithWebhook, uniqueName } from "./helpers";
import { message, publishParked, runAlarm } from "./lifecycle";

/** Markup a hostile body, key or id might carry: it must come out of every page as text. */
export const HOSTILE = `<script>alert("x")</script>&amp;"'<img src=x onerror=alert(1)>`;

/**
 * A topic whose webhook subscription `hook` (max_attempts 1) got every message of `ids` dead, each
 * with HOSTILE in its body.
 */
export async function topicWithDead(ids: string[]): Promise<string> {
	const topic = uniqueName("dash");
	const path = `/dash-hook/${topic}`;
	await behave(path, { status: 500 });
	await topicWithWebhook(topic, path, { retry: { max_attempts: 1 } });
	const now = Date.now();
	await publishParked(
		topic,
		ids.map((id) => message(id, now, { html: HOSTILE })),
	);
	expect(await runAlarm(topic)).toBe(true);
	expect(await deadCount(topic)).toBe(ids.length);
	return topic;
}

/** How many dead letters `hook` of `topic` has (from the API). */
export async function deadCount(topic: string): Promise<number> {
	const res = await json<{ dead: unknown[] }>("GET", `/v1/topics/${topic}/subscriptions/hook/dead?limit=1000`);
	return res.body.dead.length;
}

/** Makes a scoped token. */
export async function scopedToken(scopes: string[], topics = ["*"]): Promise<string> {
	const res = await json<{ token: string }>("POST", "/v1/tokens", { name: uniqueName("dash-tok"), scopes, topics });
	if (res.status !== 201) throw new Error(`token not created: ${JSON.stringify(res.body)}`);
	return res.body.token;
}
