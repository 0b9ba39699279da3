import type { TestProject } from "vitest/node";
import { startReceiver } from "./receiver.js";

/** Starts one real HTTP receiver on 127.0.0.1 for the workerd tests; they reach it by its /_control routes. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
	const receiver = await startReceiver();
	project.provide("receiverUrl", receiver.url);
	return () => receiver.close();
}
