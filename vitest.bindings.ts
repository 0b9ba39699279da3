/**
 * The Worker variables every workerd test run sets (vitest.config.ts, vitest.outbox.config.ts,
 * vitest.reliability.config.ts): all of them, so a developer's .dev.vars cannot change what tests see.
 */
export const TEST_BINDINGS = {
	SUNDIAL_TOKEN: "test-token",
	SUNDIAL_ALLOW_HTTP: "1",
	SUNDIAL_MAX_BODY_BYTES: "",
	SUNDIAL_MAX_REQUEST_BYTES: "",
	SUNDIAL_MAX_BATCH: "",
	SUNDIAL_MAX_DELAY_SECONDS: "",
	SUNDIAL_MAX_DELIVERIES_PER_ALARM: "",
	SUNDIAL_MAX_SCHEDULES: "",
	SUNDIAL_QSTASH_CURRENT_SIGNING_KEY: "sig_TestCurrentKey1111111111111111",
	SUNDIAL_QSTASH_NEXT_SIGNING_KEY: "sig_TestNextKey22222222222222222222",
	// Every JSON answer is checked against the schema /openapi.json documents for it (src/http/endpoint.ts).
	SUNDIAL_CHECK_RESPONSES: "1",
};
