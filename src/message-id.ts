/** Generates a message id: time-ordered, unique (`msg_` + ms in base 36 + 80 random bits). */
export function newMessageId(nowMs: number): string {
	const random = crypto.getRandomValues(new Uint8Array(10));
	let suffix = "";
	for (const byte of random) suffix += byte.toString(16).padStart(2, "0");
	return `msg_${nowMs.toString(36)}${suffix}`;
}
