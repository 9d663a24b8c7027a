import { sha1 } from './sha1.js';
import { toMs } from './time.js';

/**
 * Namespace of decision ids. Fixed forever: changing it would give a replayed
 * sample a new id, and the historian would store its decision twice.
 */
export const DECISION_ID_NAMESPACE = 'ee061a0f-ff86-432b-9c0a-002668cb9cf3';

const NAMESPACE_BYTES = Uint8Array.from(DECISION_ID_NAMESPACE.replace(/-/g, '').match(/../g) ?? [], (byte) => parseInt(byte, 16));
const utf8 = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A decision's id is a UUID v5 of "<cluster>|<collected_at in ms>": one sample
 * yields at most one decision, and evaluating it again after a crash or a
 * redelivery yields the same id, so it is published and stored once.
 * Milliseconds (not the text) so that "…Z" and "…+00:00" agree.
 */
export function decisionId(cluster: string, collectedAt: string, member?: string): string {
  // Decisions about one member (a failover restore, a member brought to the
  // cluster's size) name it too: two members sampled in the same millisecond
  // must not share an id, or JetStream would keep only one of the decisions.
  return uuidV5(member === undefined ? `${cluster}|${toMs(collectedAt)}` : `${cluster}|${toMs(collectedAt)}|${member}`);
}

/**
 * RFC 9562 UUID v5 (SHA-1 of namespace and name) in the decision namespace
 * (alert ids too: their names start with "alert|", which no cluster id can).
 * Written out rather than taken from the uuid package, which re-parses the
 * namespace and re-encodes the name on every call: a decider computes one
 * per decision, thousands per second (docs/SCALING.md). SHA-1 is core's own
 * (sha1.ts): core imports nothing from node:*.
 */
export function uuidV5(name: string): string {
  const h = sha1(namespaced(name));
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  let x = '';
  for (let i = 0; i < 16; i++) x += HEX[h[i] ?? 0];
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The namespace's bytes, then the name in UTF-8 (ASCII, the usual case, written directly). */
function namespaced(name: string): Uint8Array {
  const ascii = new Uint8Array(NAMESPACE_BYTES.length + name.length);
  ascii.set(NAMESPACE_BYTES);
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x80) {
      const encoded = utf8.encode(name);
      const out = new Uint8Array(NAMESPACE_BYTES.length + encoded.length);
      out.set(NAMESPACE_BYTES);
      out.set(encoded, NAMESPACE_BYTES.length);
      return out;
    }
    ascii[NAMESPACE_BYTES.length + i] = code;
  }
  return ascii;
}
