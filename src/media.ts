/** JSON media types: `application/json` and `application/*+json`, with any parameters. */
const JSON_MEDIA = /^application\/(json|[\w.+-]+\+json)\s*(;|$)/i;

/** True when a content type means the body is JSON text. */
export function isJsonMedia(contentType: string): boolean {
	return JSON_MEDIA.test(contentType);
}

/** A stored body as API responses show it: parsed JSON for JSON types, else the string. */
export function decodeBody(body: string, contentType: string): unknown {
	return isJsonMedia(contentType) ? JSON.parse(body) : body;
}
