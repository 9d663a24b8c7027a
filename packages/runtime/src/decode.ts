import { errorMessage } from './errors.js';

// Message payloads decoded and validated without throwing: a bad one gets a reason for its dead letter.

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses JSON and a zod schema, returning a reason instead of throwing (for `reject`). */
export function decodeJson(data: Uint8Array, maxBytes = 64 * 1024): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (data.length > maxBytes) return { ok: false, reason: `oversized payload: ${data.length} bytes (allowed ${maxBytes})` };
  let text: string;
  try {
    text = strictUtf8.decode(data);
  } catch {
    return { ok: false, reason: 'payload is not UTF-8 text' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `bad JSON: ${errorMessage(err)}` };
  }
}

/** Decodes and validates a message against a zod schema; the reason names each bad field. */
export function decodeMessage<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } } },
  data: Uint8Array,
  maxBytes?: number,
): { ok: true; value: T } | { ok: false; reason: string } {
  const json = decodeJson(data, maxBytes);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const details = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(message)'}: ${i.message}`)
    .join('; ');
  return { ok: false, reason: `schema violation: ${details}` };
}
