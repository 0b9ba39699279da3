// Values the global setup provides to tests (test/support/global-receiver.ts).
declare module "vitest" {
	export interface ProvidedContext {
		receiverUrl: string;
	}
}

export {};
