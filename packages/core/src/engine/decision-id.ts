import { v5 as uuidv5 } from 'uuid';
import { toMs } from './time.js';

/**
 * Namespace of decision ids. Fixed forever: changing it would give a replayed
 * sample a new id, and the historian would store its decision twice.
 */
export const DECISION_ID_NAMESPACE = 'ee061a0f-ff86-432b-9c0a-002668cb9cf3';

/**
 * A decision's id is a UUID v5 of "<cluster>|<collected_at in ms>": one sample
 * yields at most one decision, and evaluating it again after a crash or a
 * redelivery yields the same id, so it is published and stored once.
 * Milliseconds (not the text) so that "…Z" and "…+00:00" agree.
 */
export function decisionId(cluster: string, collectedAt: string): string {
  return uuidv5(`${cluster}|${toMs(collectedAt)}`, DECISION_ID_NAMESPACE);
}
