/**
 * The dashboard's actions (POST forms; routes.ts checked origin, session and CSRF token first): publish,
 * redrive, purge, pause, resume. Each calls its API route as the session's token, so the token's scopes
 * decide (a 403 page when it lacks them), then redirects back to the topic page with a notice.
 */
import { z } from "@hono/zod-openapi";
import type { Context, Hono } from "hono";
import { InvalidRequest } from "../errors";
import { MessageKey, Name, validate } from "../validation";
import { apiOk, topicPath } from "./api";
import { formFields } from "./forms";
import { topicHref } from "./pages/layout";
import type { DashEnv } from "./types";

const TopicParams = z.object({ topic: Name });
const SubParams = z.object({ topic: Name, name: Name });

const PublishForm = z
	.object({
		csrf: z.string(),
		body: z.string({ error: "enter a body" }),
		content_type: z.enum(["application/json", "text/plain"]).default("application/json"),
		delay: z.string().max(64).optional(),
		id: Name.optional(),
		key: MessageKey.optional(),
	})
	.strict();
const RedriveForm = z.object({ csrf: z.string(), id: Name.optional() }).strict();
const EmptyForm = z.object({ csrf: z.string() }).strict();

/** Back to the topic page, with what happened. */
function done(c: Context<DashEnv>, topic: string, notice: Record<string, string>): Response {
	return c.redirect(`${topicHref(topic)}?${new URLSearchParams(notice)}`, 303);
}

/** A form's `body` as the API's `body`: JSON parsed (a 400 naming the field when it is not JSON), text as is. */
function messageBody(form: z.output<typeof PublishForm>): unknown {
	if (form.content_type === "text/plain") return form.body;
	try {
		return JSON.parse(form.body);
	} catch (error) {
		throw new InvalidRequest("the body is not valid JSON (choose text/plain to send text)", [
			{ path: "body", message: `not valid JSON: ${(error as Error).message}` },
		]);
	}
}

/** POST /dash/topics/{topic}/publish, …/subscriptions/{name}/redrive and /purge, …/schedules/{name}/pause and /resume. */
export function actionRoutes(dash: Hono<DashEnv>): void {
	dash.post("/topics/:topic/publish", async (c) => {
		const { topic } = validate(TopicParams, c.req.param(), "path parameter");
		const form = formFields(PublishForm, c.get("form"));
		const request = {
			body: messageBody(form),
			...(form.content_type === "text/plain" ? { content_type: "text/plain" } : {}),
			...(form.delay !== undefined
				? { delay: /^\d+(\.\d+)?$/.test(form.delay) ? Number(form.delay) : form.delay }
				: {}),
			...(form.id !== undefined ? { id: form.id } : {}),
			...(form.key !== undefined ? { key: form.key } : {}),
		};
		const published = await apiOk<{ id: string }>(c, "POST", topicPath(topic, "messages"), request);
		return done(c, topic, { done: "published", name: published.id });
	});

	dash.post("/topics/:topic/subscriptions/:name/redrive", async (c) => {
		const { topic, name } = validate(SubParams, c.req.param(), "path parameter");
		const form = formFields(RedriveForm, c.get("form"));
		const result = await apiOk<{ redriven: number }>(
			c,
			"POST",
			topicPath(topic, "subscriptions", name, "dead", "redrive"),
			form.id === undefined ? {} : { ids: [form.id] },
		);
		return done(c, topic, { done: "redriven", n: String(result.redriven) });
	});

	dash.post("/topics/:topic/subscriptions/:name/purge", async (c) => {
		const { topic, name } = validate(SubParams, c.req.param(), "path parameter");
		formFields(EmptyForm, c.get("form"));
		const result = await apiOk<{ purged: number }>(c, "DELETE", topicPath(topic, "subscriptions", name, "dead"));
		return done(c, topic, { done: "purged", n: String(result.purged) });
	});

	for (const action of ["pause", "resume"] as const) {
		dash.post(`/topics/:topic/schedules/:name/${action}`, async (c) => {
			const { topic, name } = validate(SubParams, c.req.param(), "path parameter");
			formFields(EmptyForm, c.get("form"));
			await apiOk(c, "POST", topicPath(topic, "schedules", name, action));
			return done(c, topic, { done: action === "pause" ? "paused" : "resumed", name });
		});
	}
}
