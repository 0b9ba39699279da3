/** Base64 and base64url, the one place bytes and text are encoded for signatures, ids and cursors. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Standard base64 of `bytes` (with `=` padding). */
export function toBase64(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary);
}

/** The bytes of standard base64 or base64url text (padding optional); throws on malformed input. */
export function fromBase64(text: string): Uint8Array {
	return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
}

/** Base64url of `bytes`, without padding unless `padded`. */
export function toBase64Url(bytes: Uint8Array, padded = false): string {
	const url = toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_");
	return padded ? url : url.replace(/=+$/, "");
}

/** Base64url of the UTF-8 bytes of `text`, unpadded. */
export function textToBase64Url(text: string): string {
	return toBase64Url(encoder.encode(text));
}

/** The UTF-8 text of base64url; throws on malformed input. */
export function textFromBase64Url(text: string): string {
	return decoder.decode(fromBase64(text));
}
