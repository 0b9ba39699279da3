export { OutboxError, parseDurationMs } from "./message";
export { Outbox } from "./outbox";
export { type PublishErrorFields, type PublishErrorIssue, readPublishError } from "./publish-error";
export type {
	DeadMessage,
	OutboxMessage,
	OutboxOptions,
	OutboxStats,
	OutboxTopicState,
	PublishReply,
	SundialPublisher,
} from "./types";
