/** Longest webhook URL accepted, in characters. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Options of `checkWebhookUrl`. */
export interface WebhookUrlOptions {
	/** Allow `http:` and loopback targets (SUNDIAL_ALLOW_HTTP=1; local development and tests only). */
	allowHttp: boolean;
}

/** Outcome of `checkWebhookUrl`: the parsed URL, or a sentence saying why it was refused. */
export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const DEV_HINT = "(set SUNDIAL_ALLOW_HTTP=1 for local development)";

/** Names that resolve to the local machine; allowed with allowHttp like 127.0.0.1. */
const LOOPBACK_SUFFIXES = ["localhost"];
/** Names that only mean something inside a private network or a cloud host. */
const PRIVATE_NAMES = ["localhost.localdomain", "metadata", "instance-data"];
const PRIVATE_SUFFIXES = ["local", "internal", "home.arpa"];

/** IPv4 ranges refused as webhook targets: [network, prefix length, label]. */
const IPV4_REFUSED: ReadonlyArray<readonly [string, number, string]> = [
	["0.0.0.0", 8, "this-network"],
	["10.0.0.0", 8, "private"],
	["100.64.0.0", 10, "shared (CGNAT)"],
	["127.0.0.0", 8, "loopback"],
	["169.254.0.0", 16, "link-local (cloud metadata)"],
	["172.16.0.0", 12, "private"],
	["192.0.0.0", 24, "protocol-assignment"],
	["192.0.2.0", 24, "documentation"],
	["192.168.0.0", 16, "private"],
	["198.18.0.0", 15, "benchmarking"],
	["198.51.100.0", 24, "documentation"],
	["203.0.113.0", 24, "documentation"],
	["224.0.0.0", 4, "multicast"],
	["240.0.0.0", 4, "reserved"],
];

/** Checks that a webhook URL is an absolute https URL that does not point into a private network. */
export function checkWebhookUrl(raw: string, opts: WebhookUrlOptions): WebhookUrlCheck {
	const refuse = (reason: string): WebhookUrlCheck => ({ ok: false, reason });
	if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
		return refuse(`webhook url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
	}
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return refuse("webhook url is not a valid absolute url");
	}
	if (url.href.length > MAX_WEBHOOK_URL_LENGTH) {
		return refuse(`webhook url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
	}
	if (url.protocol === "http:" && !opts.allowHttp) {
		return refuse(`webhook url must use https ${DEV_HINT}`);
	}
	if (url.protocol !== "https:" && url.protocol !== "http:") {
		const allowed = opts.allowHttp ? "https or http" : "https";
		return refuse(`webhook url must use ${allowed}, not ${url.protocol}`);
	}
	if (url.username !== "" || url.password !== "") {
		return refuse("webhook url must not contain a username or password");
	}
	const problem = hostProblem(url.hostname);
	if (problem === undefined) return { ok: true, url };
	if (problem.loopback && opts.allowHttp) return { ok: true, url };
	const hint = problem.loopback ? ` ${DEV_HINT}` : "";
	return refuse(`webhook url points at ${problem.what} (${url.hostname})${hint}`);
}

interface HostProblem {
	/** What the host is, as a phrase: "a private address". */
	what: string;
	/** Loopback targets are allowed in development. */
	loopback: boolean;
}

function hostProblem(hostname: string): HostProblem | undefined {
	if (hostname.startsWith("[") && hostname.endsWith("]")) {
		const groups = parseIpv6(hostname.slice(1, -1));
		if (groups === undefined) return { what: "an unparseable IPv6 address", loopback: false };
		return ipv6Problem(groups);
	}
	const v4 = parseIpv4(hostname);
	if (v4 !== undefined) return ipv4Problem(v4);
	const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
	const under = (suffix: string) => name === suffix || name.endsWith(`.${suffix}`);
	if (LOOPBACK_SUFFIXES.some(under)) return { what: "a loopback host", loopback: true };
	if (PRIVATE_NAMES.includes(name) || PRIVATE_SUFFIXES.some(under)) {
		return { what: "a private or internal host name", loopback: false };
	}
	return undefined;
}

/** Dotted-quad IPv4 as an unsigned 32-bit number (the URL parser has already normalised other forms). */
function parseIpv4(text: string): number | undefined {
	const parts = text.split(".");
	if (parts.length !== 4) return undefined;
	let value = 0;
	for (const part of parts) {
		if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
		value = value * 256 + Number(part);
	}
	return value;
}

function ipv4Problem(address: number): HostProblem | undefined {
	for (const [network, prefix, label] of IPV4_REFUSED) {
		const base = parseIpv4(network) ?? 0;
		const size = 2 ** (32 - prefix);
		if (address >= base && address < base + size) {
			return { what: `a ${label} address`, loopback: label === "loopback" };
		}
	}
	return undefined;
}

/** Parses an IPv6 address (with `::` and an optional dotted IPv4 tail) into eight 16-bit groups. */
export function parseIpv6(text: string): number[] | undefined {
	const halves = text.split("::");
	if (halves.length > 2) return undefined;
	const parseSide = (side: string | undefined): number[] | undefined => {
		if (side === undefined || side === "") return [];
		const groups: number[] = [];
		const pieces = side.split(":");
		for (const [index, piece] of pieces.entries()) {
			if (index === pieces.length - 1 && piece.includes(".")) {
				const v4 = parseIpv4(piece);
				if (v4 === undefined) return undefined;
				groups.push(Math.floor(v4 / 65536), v4 % 65536);
			} else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
				groups.push(Number.parseInt(piece, 16));
			} else {
				return undefined;
			}
		}
		return groups;
	};
	const head = parseSide(halves[0]);
	const tail = parseSide(halves[1]);
	if (head === undefined || tail === undefined) return undefined;
	if (halves.length === 1) return head.length === 8 ? head : undefined;
	const missing = 8 - head.length - tail.length;
	if (missing < 1) return undefined;
	return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function ipv6Problem(g: number[]): HostProblem | undefined {
	const at = (i: number) => g[i] ?? 0;
	const zeroUpTo = (end: number) => g.slice(0, end).every((x) => x === 0);
	// Only the IPv4-mapped form reaches this host's loopback; NAT64 and 6to4 go via a gateway.
	const embeddedV4 = (hi: number, lo: number, mapped = false): HostProblem | undefined => {
		const problem = ipv4Problem(at(hi) * 65536 + at(lo));
		return problem && { what: problem.what, loopback: mapped && problem.loopback };
	};
	if (zeroUpTo(8)) return { what: "the unspecified address", loopback: false };
	if (zeroUpTo(7) && at(7) === 1) return { what: "a loopback address", loopback: true };
	if (zeroUpTo(5) && at(5) === 0xffff) return embeddedV4(6, 7, true); // ::ffff:a.b.c.d
	if (at(0) === 0x64 && at(1) === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
		return embeddedV4(6, 7); // NAT64 64:ff9b::/96
	}
	if ((at(0) & 0xfe00) === 0xfc00) return { what: "a private address", loopback: false };
	if ((at(0) & 0xffc0) === 0xfe80) return { what: "a link-local address", loopback: false };
	if ((at(0) & 0xff00) === 0xff00) return { what: "a multicast address", loopback: false };
	if (at(0) === 0x2001 && at(1) === 0x0db8) {
		return { what: "a documentation address", loopback: false };
	}
	if (at(0) === 0x2002) return embeddedV4(1, 2); // 6to4 2002:a.b.c.d::/48
	// Only 2000::/3 is global unicast; the rest (::/8 and friends) is reserved.
	if ((at(0) & 0xe000) !== 0x2000) return { what: "a reserved address", loopback: false };
	return undefined;
}
