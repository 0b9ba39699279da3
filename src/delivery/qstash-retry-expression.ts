/**
 * `Upstash-Retry-Delay` (QSTASH.md "Retries"): a small arithmetic language over `retried`, parsed
 * once at publish (errors → 400) into plain data, evaluated at each retry. No eval, no Function.
 */
import { QstashHeaderError } from "./qstash-header-error";

/** Longest expression accepted. */
export const MAX_RETRY_DELAY_EXPRESSION_CHARS = 256;
/** Deepest nesting of parentheses, calls and unary minus accepted. */
export const MAX_RETRY_DELAY_EXPRESSION_DEPTH = 32;
/** The upper clamp of an evaluated delay: one day. */
export const MAX_RETRY_DELAY_MS = 86_400_000;

/** A function the grammar knows. */
export type RetryDelayFunction = "pow" | "min" | "max" | "sqrt" | "abs" | "exp" | "floor" | "ceil" | "round";

const ARITY: Record<RetryDelayFunction, 1 | 2> = {
	pow: 2,
	min: 2,
	max: 2,
	sqrt: 1,
	abs: 1,
	exp: 1,
	floor: 1,
	ceil: 1,
	round: 1,
};

const FUNCTIONS: Record<RetryDelayFunction, (a: number, b: number) => number> = {
	pow: (a, b) => a ** b,
	min: (a, b) => Math.min(a, b),
	max: (a, b) => Math.max(a, b),
	sqrt: (a) => Math.sqrt(a),
	abs: (a) => Math.abs(a),
	exp: (a) => Math.exp(a),
	floor: (a) => Math.floor(a),
	ceil: (a) => Math.ceil(a),
	// Go's math.Round: halves away from zero (JS Math.round sends -2.5 to -2).
	round: (a) => Math.sign(a) * Math.round(Math.abs(a)),
};

/** One node of a parsed expression: plain JSON-safe data. */
export type RetryDelayNode =
	| { op: "num"; value: number }
	| { op: "retried" }
	| { op: "neg"; arg: RetryDelayNode }
	| { op: "+" | "-" | "*" | "/" | "%"; left: RetryDelayNode; right: RetryDelayNode }
	| { op: "call"; fn: RetryDelayFunction; args: RetryDelayNode[] };

/** A parsed `Upstash-Retry-Delay`: store `source`, re-parse it when needed (cheap). */
export interface RetryDelayExpression {
	source: string;
	root: RetryDelayNode;
}

type Token = { kind: "num"; value: number; at: number } | { kind: "name" | "punct"; text: string; at: number };

const TOKEN = /(\d+(?:\.\d*)?|\.\d+)|([A-Za-z_]\w*)|([-+*/%(),])/y;

function fail(detail: string): never {
	throw new QstashHeaderError("Upstash-Retry-Delay", detail);
}

function tokenize(source: string): Token[] {
	const tokens: Token[] = [];
	let at = 0;
	while (at < source.length) {
		if (/\s/.test(source.charAt(at))) {
			at++;
			continue;
		}
		TOKEN.lastIndex = at;
		const match = TOKEN.exec(source);
		if (!match) fail(`unexpected character ${JSON.stringify(source.charAt(at))} at position ${at + 1}`);
		if (match[1] !== undefined) tokens.push({ kind: "num", value: Number(match[1]), at: at + 1 });
		else tokens.push({ kind: match[2] !== undefined ? "name" : "punct", text: match[0], at: at + 1 });
		at = TOKEN.lastIndex;
	}
	return tokens;
}

/** Recursive descent: sum := product (("+"|"-") product)*, product := unary (("*"|"/"|"%") unary)*. */
class Parser {
	private next = 0;
	constructor(private readonly tokens: Token[]) {}

	parseAll(): RetryDelayNode {
		if (this.tokens.length === 0) fail("is empty");
		const root = this.sum(0);
		const extra = this.tokens[this.next];
		if (extra) fail(`unexpected ${describe(extra)} at position ${extra.at}`);
		return root;
	}

	private peekPunct(...texts: string[]): string | null {
		const token = this.tokens[this.next];
		return token?.kind === "punct" && texts.includes(token.text) ? token.text : null;
	}

	private expect(text: string, after: string): void {
		const token = this.tokens[this.next];
		if (this.peekPunct(text) === null) {
			fail(`expected "${text}" ${after}, found ${token ? `${describe(token)} at position ${token.at}` : "the end"}`);
		}
		this.next++;
	}

	private sum(depth: number): RetryDelayNode {
		let left = this.product(depth);
		for (let op = this.peekPunct("+", "-"); op !== null; op = this.peekPunct("+", "-")) {
			this.next++;
			left = { op: op as "+" | "-", left, right: this.product(depth) };
		}
		return left;
	}

	private product(depth: number): RetryDelayNode {
		let left = this.unary(depth);
		for (let op = this.peekPunct("*", "/", "%"); op !== null; op = this.peekPunct("*", "/", "%")) {
			this.next++;
			left = { op: op as "*" | "/" | "%", left, right: this.unary(depth) };
		}
		return left;
	}

	private unary(depth: number): RetryDelayNode {
		if (depth >= MAX_RETRY_DELAY_EXPRESSION_DEPTH) fail(`nests deeper than ${MAX_RETRY_DELAY_EXPRESSION_DEPTH} levels`);
		if (this.peekPunct("-") !== null) {
			this.next++;
			return { op: "neg", arg: this.unary(depth + 1) };
		}
		return this.primary(depth);
	}

	private primary(depth: number): RetryDelayNode {
		const token = this.tokens[this.next++];
		if (!token) fail("ends where a number, retried, a function or ( was expected");
		if (token.kind === "num") return { op: "num", value: token.value };
		if (token.kind === "punct") {
			if (token.text !== "(") fail(`unexpected ${describe(token)} at position ${token.at}`);
			const inner = this.sum(depth + 1);
			this.expect(")", `to close "(" at position ${token.at}`);
			return inner;
		}
		if (token.text === "retried") return { op: "retried" };
		if (!Object.hasOwn(ARITY, token.text)) {
			fail(this.peekPunct("(") ? `unknown function "${token.text}"` : `unknown identifier "${token.text}"`);
		}
		const fn = token.text as RetryDelayFunction;
		this.expect("(", `after ${fn}`);
		const args = [this.sum(depth + 1)];
		while (this.peekPunct(",") !== null) {
			this.next++;
			args.push(this.sum(depth + 1));
		}
		this.expect(")", `to close ${fn}(`);
		if (args.length !== ARITY[fn]) fail(`${fn} takes ${ARITY[fn]} argument(s), got ${args.length}`);
		return { op: "call", fn, args };
	}
}

function describe(token: Token): string {
	return token.kind === "num" ? `number ${token.value}` : `"${token.text}"`;
}

/** Parses an `Upstash-Retry-Delay` value; throws QstashHeaderError (400) naming what is wrong. */
export function parseRetryDelayExpression(source: string): RetryDelayExpression {
	if (source.length > MAX_RETRY_DELAY_EXPRESSION_CHARS)
		fail(`is longer than ${MAX_RETRY_DELAY_EXPRESSION_CHARS} characters`);
	return { source, root: new Parser(tokenize(source)).parseAll() };
}

function evaluate(node: RetryDelayNode, retried: number): number {
	switch (node.op) {
		case "num":
			return node.value;
		case "retried":
			return retried;
		case "neg":
			return -evaluate(node.arg, retried);
		case "call": {
			const [a = Number.NaN, b = Number.NaN] = node.args.map((arg) => evaluate(arg, retried));
			return FUNCTIONS[node.fn](a, b);
		}
	}
	const left = evaluate(node.left, retried);
	const right = evaluate(node.right, retried);
	// Division or remainder by zero is undefined (NaN), never an infinite wait.
	if ((node.op === "/" || node.op === "%") && right === 0) return Number.NaN;
	if (node.op === "+") return left + right;
	if (node.op === "-") return left - right;
	if (node.op === "*") return left * right;
	return node.op === "/" ? left / right : left % right;
}

/**
 * The wait in whole ms (floored) with `retried` bound, clamped to 0…86,400,000. Null when the value
 * is undefined (division or remainder by zero, sqrt of a negative, …): the caller falls back to
 * the default backoff.
 */
export function evaluateRetryDelayMs(expression: RetryDelayExpression, retried: number): number | null {
	const value = evaluate(expression.root, retried);
	if (Number.isNaN(value)) return null;
	return Math.floor(Math.min(MAX_RETRY_DELAY_MS, Math.max(0, value)));
}
