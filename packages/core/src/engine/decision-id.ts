import { createHash } from 'node:crypto';
import { toMs } from './time.js';

/**
 * Namespace of decision ids. Fixed forever: changing it would give a replayed
 * sample a new id, and the historian would store its decision twice.
 */
export const DECISION_ID_NAMESPACE = 'ee061a0f-ff86-432b-9c0a-002668cb9cf3';

const NAMESPACE_BYTES = Buffer.from(DECISION_ID_NAMESPACE.replace(/-/g, ''), 'hex');

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
 * per decision, thousands per second (docs/SCALING.md).
 */
export function uuidV5(name: string): string {
  const h = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  h[6] = (h.readUInt8(6) & 0x0f) | 0x50;
  h[8] = (h.readUInt8(8) & 0x3f) | 0x80;
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
