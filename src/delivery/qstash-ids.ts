/**
 * `/v2` message ids (QSTASH.md "messageId"): a publish to a URL is the Sundial message id itself
 * (`msg_…`, routed by its hash); a publish to a URL group yields one id per endpoint that names the
 * topic, the Sundial message and the subscription, so a lookup goes straight to the right object
 * without an index.
 */

import { textFromBase64Url, textToBase64Url } from "../base64";

const GROUP_PREFIX = "msg_g";
const DLQ_PREFIX = "dlq_";

/** The messageId of one endpoint's delivery of a URL-group message. */
export function groupMessageId(topic: string, id: string, subscription: string): string {
	return GROUP_PREFIX + textToBase64Url(JSON.stringify([topic, id, subscription]));
}

/** The parts of a group messageId, or null for another id. */
export function readGroupMessageId(messageId: string): DeliveryRef | null {
	return messageId.startsWith(GROUP_PREFIX) ? readToken(messageId.slice(GROUP_PREFIX.length)) : null;
}

/** A delivery: the topic, the Sundial message id and the subscription. */
export interface DeliveryRef {
	topic: string;
	id: string;
	subscription: string;
}

/** The dlqId of a dead delivery (QSTASH.md "dlqId"): it names where the delivery lives. */
export function dlqId(topic: string, id: string, subscription: string): string {
	return DLQ_PREFIX + textToBase64Url(JSON.stringify([topic, id, subscription]));
}

/** The delivery a dlqId names, or null when it is not one. */
export function readDlqId(id: string): DeliveryRef | null {
	return id.startsWith(DLQ_PREFIX) ? readToken(id.slice(DLQ_PREFIX.length)) : null;
}

function readToken(token: string): DeliveryRef | null {
	try {
		const parts = JSON.parse(textFromBase64Url(token)) as unknown;
		if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === "string")) return null;
		const [topic, id, subscription] = parts as [string, string, string];
		return { topic, id, subscription };
	} catch {
		return null;
	}
}

/** The messageId a delivery carries: the group form when its message was published to a topic. */
export function qstashMessageId(topicName: string | null, id: string, subscription: string): string {
	return topicName === null ? id : groupMessageId(topicName, id, subscription);
}
