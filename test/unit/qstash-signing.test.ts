import { Receiver, SignatureError } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { QSTASH_JWT_LIFETIME_SEC, signQstash } from "../../src/delivery/qstash-signing";

// Keys shaped like the ones `npm start` generates: `sig_` + 28 base58 characters.
const KEY = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";
const OTHER_KEY = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs";
const THIRD_KEY = "sig_3mfbQJ2hKsTRBN3xyvcuCCL7Vb7x";
const URL = "https://example.com/hooks/orders?tenant=7&x=a%20b";

/** SHA-256 base64url (with `=`) computed outside this code: Node's crypto, `digest("base64url")` + "=". */
const HELLO_SHA256 = "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
const BINARY = new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x7f]);
const BINARY_SHA256 = "dJ4Oq6Wcn9kyBYWlSdL1rI6kPvMx9TVD7kWRgQ160HU=";

const receiver = (currentSigningKey: string, nextSigningKey: string) =>
	new Receiver({ currentSigningKey, nextSigningKey });

function decodePart(part: string | undefined): string {
	const base64 = (part ?? "").replaceAll("-", "+").replaceAll("_", "/");
	const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
	return new TextDecoder().decode(bytes);
}

describe("signQstash, verified by @upstash/qstash's Receiver", () => {
	it("is accepted with the current key, and `sub` is checked against the url given", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: "hello", nowMs: Date.now() });
		await expect(receiver(KEY, OTHER_KEY).verify({ signature, body: "hello", url: URL })).resolves.toBe(true);
		await expect(receiver(KEY, OTHER_KEY).verify({ signature, body: "hello" })).resolves.toBe(true);
	});

	it("is rejected when neither key of the receiver signed it", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: "hello", nowMs: Date.now() });
		await expect(receiver(OTHER_KEY, THIRD_KEY).verify({ signature, body: "hello", url: URL })).rejects.toThrow(
			SignatureError,
		);
	});

	it("is accepted by a receiver whose next key signed it and whose current key is different (rotation)", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: "hello", nowMs: Date.now() });
		await expect(receiver(OTHER_KEY, KEY).verify({ signature, body: "hello", url: URL })).resolves.toBe(true);
	});

	it("keys the HMAC with the whole key string: the key without `sig_` does not verify", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: "hello", nowMs: Date.now() });
		const bare = KEY.slice("sig_".length);
		await expect(receiver(bare, bare).verify({ signature, body: "hello", url: URL })).rejects.toThrow(SignatureError);
	});

	it("is rejected when the body was tampered with", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: '{"amount":1}', nowMs: Date.now() });
		await expect(receiver(KEY, OTHER_KEY).verify({ signature, body: '{"amount":100}', url: URL })).rejects.toThrow(
			/body hash does not match/,
		);
	});

	it("is rejected when the url differs, down to the query", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: "hello", nowMs: Date.now() });
		const otherQuery = URL.replace("tenant=7", "tenant=8");
		await expect(receiver(KEY, OTHER_KEY).verify({ signature, body: "hello", url: otherQuery })).rejects.toThrow(
			/invalid subject/,
		);
		await expect(
			receiver(KEY, OTHER_KEY).verify({ signature, body: "hello", url: "https://example.com/hooks/orders" }),
		).rejects.toThrow(/invalid subject/);
	});

	it("expires 300 s after it was made", async () => {
		const signature = await signQstash({ key: KEY, url: URL, body: "hello", nowMs: Date.now() - 301_000 });
		await expect(receiver(KEY, OTHER_KEY).verify({ signature, body: "hello", url: URL })).rejects.toThrow(
			SignatureError,
		);
	});

	it("signs a byte body over its bytes: UTF-8 bytes verify against the same text", async () => {
		const text = 'héllo ✓ 🦀 {"a":1}';
		const signature = await signQstash({ key: KEY, url: URL, body: new TextEncoder().encode(text), nowMs: Date.now() });
		await expect(receiver(KEY, OTHER_KEY).verify({ signature, body: text, url: URL })).resolves.toBe(true);
	});
});

describe("signQstash token shape", () => {
	const nowMs = 1_767_225_600_999; // 2026-01-01T00:00:00.999Z

	it("has the header and exactly the claims QSTASH.md lists", async () => {
		const [header, payload, mac, ...rest] = (await signQstash({ key: KEY, url: URL, body: "hello", nowMs })).split(".");
		expect(rest).toEqual([]);
		expect(decodePart(header)).toBe('{"alg":"HS256","typ":"JWT"}');
		const claims = JSON.parse(decodePart(payload));
		expect(Object.keys(claims).sort()).toEqual(["body", "exp", "iat", "iss", "jti", "nbf", "sub"]);
		expect(claims).toMatchObject({
			iss: "Upstash",
			sub: URL,
			iat: 1_767_225_600,
			exp: 1_767_225_600 + QSTASH_JWT_LIFETIME_SEC,
			nbf: 0,
			body: HELLO_SHA256,
		});
		expect(QSTASH_JWT_LIFETIME_SEC).toBe(300);
		expect(claims.jti).toMatch(/^jwt_[0-9a-f]{32}$/);
		// JWT parts are unpadded base64url; the signature is 32 bytes of HMAC-SHA256.
		expect(`${header}${payload}${mac}`).toMatch(/^[A-Za-z0-9_-]+$/);
		expect(mac).toHaveLength(43);
	});

	it("gives every attempt a fresh jti", async () => {
		const jtiOf = async () =>
			JSON.parse(decodePart((await signQstash({ key: KEY, url: URL, body: "", nowMs })).split(".")[1])).jti;
		expect(await jtiOf()).not.toBe(await jtiOf());
	});

	it("hashes bytes that are not UTF-8 as they are (padded base64url SHA-256)", async () => {
		const payload = (await signQstash({ key: KEY, url: URL, body: BINARY, nowMs })).split(".")[1];
		expect(JSON.parse(decodePart(payload)).body).toBe(BINARY_SHA256);
	});
});
