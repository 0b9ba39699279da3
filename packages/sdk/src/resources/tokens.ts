import type { Transport } from "../transport.js";
import type { CreatedToken, Token, TokenInput } from "../types.js";

/** Scoped tokens (admin): create (the token is in that answer only), list, revoke. */
export class Tokens {
	constructor(private readonly transport: Transport) {}

	/** Creates a token with `scopes` for `topics` (default every topic); `token` is shown in this answer only. */
	create(input: TokenInput): Promise<CreatedToken> {
		return this.transport.call("post", "/v1/tokens", {
			params: undefined,
			body: input as never,
			idempotent: false,
		}) as Promise<CreatedToken>;
	}

	/** Every token, newest first (never the token itself). */
	async list(): Promise<Token[]> {
		return (await this.transport.call("get", "/v1/tokens", { params: undefined, idempotent: true })).tokens;
	}

	/** Revokes a token: refused everywhere within seconds. */
	revoke(id: string): Promise<{ deleted: boolean }> {
		return this.transport.call("delete", "/v1/tokens/{id}", { params: { id }, idempotent: true });
	}
}
