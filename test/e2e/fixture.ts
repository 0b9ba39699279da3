import { afterAll, afterEach, beforeAll } from "vitest";
import { type Receiver, startReceiver } from "../support/receiver.js";
import { stopAll } from "../support/wrangler.js";
import { type Sundial, srcChangedSince, startSundial } from "./lib.js";

/**
 * The hooks every end-to-end file needs, registered in the calling `describe`: before all its tests
 * a Sundial under `wrangler dev` (and a receiver, unless `receiver: false`) handed to `use`; after
 * each test a warning when src/ changed meanwhile (wrangler reloads the Worker then, resetting every
 * object mid-test); after all, everything stopped and the state removed.
 */
export function useSundial(
	use: (sundial: Sundial, receiver: Receiver | undefined) => void | Promise<void>,
	opts: { receiver?: boolean; start?: () => Promise<Sundial> } = {},
): void {
	let sundial: Sundial | undefined;
	let receiver: Receiver | undefined;
	beforeAll(async () => {
		if (opts.receiver !== false) receiver = await startReceiver();
		sundial = await (opts.start ?? startSundial)();
		await use(sundial, receiver);
	});
	afterEach(() => {
		const changed = sundial ? srcChangedSince(sundial.startedAtMs) : [];
		if (changed.length > 0)
			console.warn(`src/ changed during the run, so wrangler reloaded the Worker: ${changed.join(", ")}`);
	});
	afterAll(async () => {
		await stopAll();
		await receiver?.close();
		sundial?.removeState();
	});
}
