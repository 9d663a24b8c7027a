import type { Alert, AlertKind } from '../../disk-schemas.js';
import { uuidV5 } from '../decision-id.js';
import { toMs } from '../time.js';

/** An alert's id: the same cluster, kind, slot, state and time always give the same id (a repeated evaluation publishes it once). */
export function alertId(cluster: string, kind: AlertKind, slot: string | undefined, state: Alert['state'], at: string): string {
  return uuidV5(`alert|${cluster}|${kind}|${slot ?? ''}|${state}|${toMs(at)}`);
}
