import { AppError } from "./errors";

/** Worker variables Sundial reads besides its bindings; every one is optional (README "Configuration"). */
export interface SundialVars {
	/** Bearer token for `/v1`. Unset = every `/v1` request is refused. */
	SUNDIAL_TOKEN?: string;
	/** "1" allows http:// and loopback webhook URLs (local development only). */
	SUNDIAL_ALLOW_HTTP?: string;
	/** Largest stored message body in bytes. @default 1048576 */
	SUNDIAL_MAX_BODY_BYTES?: string;
	/** Largest request body in bytes (a whole batch). @default 8388608 */
	SUNDIAL_MAX_REQUEST_BYTES?: string;
	/** Most items in one batch publish. @default 1000 */
	SUNDIAL_MAX_BATCH?: string;
	/** Longest delay in seconds. @default 31536000 (365 days) */
	SUNDIAL_MAX_DELAY_SECONDS?: string;
	/** Most deliveries one alarm run makes before re-arming (keep ≤ 45 on the Workers Free plan). @default 1000 */
	SUNDIAL_MAX_DELIVERIES_PER_ALARM?: string;
	/** Most cron schedules in all (they share one object and its alarm). @default 1000 */
	SUNDIAL_MAX_SCHEDULES?: string;
	/** Most topics one `/metrics` scrape covers (the first in name order that the token reaches). @default 1000 */
	SUNDIAL_METRICS_MAX_TOPICS?: string;
	/** `/v2` deliveries are signed with this key (`sig_…`). Unset = `/v2` answers 503. */
	SUNDIAL_QSTASH_CURRENT_SIGNING_KEY?: string;
	/** The key receivers also accept (the next one after a rotation). Unset = `/v2` answers 503. */
	SUNDIAL_QSTASH_NEXT_SIGNING_KEY?: string;
	/**
	 * "1" checks every JSON answer of a route against the schema /openapi.json documents for it and
	 * answers 500 when it does not match (the test suites set it; it costs CPU, keep it off in production).
	 */
	SUNDIAL_CHECK_RESPONSES?: string;
}

/** The environment the Worker and its objects see. */
export type AppEnv = Env & SundialVars;

/** Parsed, validated configuration. */
export interface Config {
	token: string | null;
	allowHttp: boolean;
	maxBodyBytes: number;
	maxRequestBytes: number;
	maxBatchItems: number;
	maxDelayMs: number;
	maxDeliveriesPerAlarm: number;
	/** Fixed limit, documented in the README. */
	maxSubscriptions: number;
	maxSchedules: number;
	/** Most topics one `/metrics` scrape covers. */
	metricsMaxTopics: number;
	/** `/v2` signing keys; null when either is not configured (then `/v2` refuses to work). */
	qstashKeys: { current: string; next: string } | null;
	/** Check answers against their documented schemas (SUNDIAL_CHECK_RESPONSES). */
	checkResponses: boolean;
}

const cache = new WeakMap<object, Config>();

function intVar(env: SundialVars, key: keyof SundialVars, fallback: number, min: number, max: number): number {
	const raw = env[key];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new AppError(503, "config_invalid", `${key} must be an integer from ${min} to ${max}, got "${raw}"`);
	}
	return value;
}

function qstashKeys(env: SundialVars): { current: string; next: string } | null {
	const current = env.SUNDIAL_QSTASH_CURRENT_SIGNING_KEY?.trim();
	const next = env.SUNDIAL_QSTASH_NEXT_SIGNING_KEY?.trim();
	return current && next ? { current, next } : null;
}

/** Parses the environment once per env object; throws a 503 AppError naming a bad variable. */
export function getConfig(env: SundialVars): Config {
	const hit = cache.get(env);
	if (hit) return hit;
	const token = env.SUNDIAL_TOKEN?.trim() || null;
	const config: Config = {
		token,
		allowHttp: env.SUNDIAL_ALLOW_HTTP === "1" || env.SUNDIAL_ALLOW_HTTP === "true",
		maxBodyBytes: intVar(env, "SUNDIAL_MAX_BODY_BYTES", 1_048_576, 1, 1_900_000),
		maxRequestBytes: intVar(env, "SUNDIAL_MAX_REQUEST_BYTES", 8_388_608, 1024, 30_000_000),
		maxBatchItems: intVar(env, "SUNDIAL_MAX_BATCH", 1000, 1, 1000),
		maxDelayMs: intVar(env, "SUNDIAL_MAX_DELAY_SECONDS", 31_536_000, 1, 10 * 31_536_000) * 1000,
		maxDeliveriesPerAlarm: intVar(env, "SUNDIAL_MAX_DELIVERIES_PER_ALARM", 1000, 1, 100_000),
		maxSubscriptions: 100,
		maxSchedules: intVar(env, "SUNDIAL_MAX_SCHEDULES", 1000, 1, 100_000),
		metricsMaxTopics: intVar(env, "SUNDIAL_METRICS_MAX_TOPICS", 1000, 1, 10_000),
		qstashKeys: qstashKeys(env),
		checkResponses: env.SUNDIAL_CHECK_RESPONSES === "1",
	};
	cache.set(env, config);
	return config;
}
