// The text that stands in Git for a Secret value: a keyed hash, so a change of value is still
// visible in history while the value itself (however short or guessable) cannot be recovered
// without the key. The same bytes give the same marker whether they came as `data` or `stringData`.

import { createHmac } from 'node:crypto';

export const REDACTION_MARKER_PREFIX = 'redacted:hmac-sha256:';

/** Hex characters kept of the HMAC (128 bits): plenty to see a change, short enough to read. */
const MARKER_HEX_CHARS = 32;

export function redactionMarker(key: Buffer, value: Buffer | string): string {
  const mac = createHmac('sha256', key).update(value).digest('hex');
  return REDACTION_MARKER_PREFIX + mac.slice(0, MARKER_HEX_CHARS);
}

/** True for text produced by `redactionMarker` (for diff and history views). */
export function isRedactionMarker(text: string): boolean {
  return text.length === REDACTION_MARKER_PREFIX.length + MARKER_HEX_CHARS && text.startsWith(REDACTION_MARKER_PREFIX) && /^[0-9a-f]+$/.test(text.slice(REDACTION_MARKER_PREFIX.length));
}
