import { JetStreamApiCodes, JetStreamApiError as NatsJetStreamApiError } from '@nats-io/jetstream';
import { JetStreamApiError } from './js-requests.js';

/**
 * JetStream's own error code (`err_code`, e.g. 10071) of a refused request,
 * whether it came through JetStreamRequests or through nats.js; undefined
 * for anything else (a timeout, a closed connection). Decisions are made on
 * this code, never on the description text, which servers may reword.
 */
export function jetStreamErrCode(err: unknown): number | undefined {
  if (err instanceof JetStreamApiError) return err.errCode;
  if (err instanceof NatsJetStreamApiError) return err.code;
  return undefined;
}

/** The stream, the consumer or the message asked for does not exist. */
export function isNotFound(err: unknown): boolean {
  const code = jetStreamErrCode(err);
  return code === JetStreamApiCodes.StreamNotFound || code === JetStreamApiCodes.ConsumerNotFound || code === JetStreamApiCodes.NoMessageFound;
}

/** A publish with an expected last sequence found another message there: someone wrote in between. */
export function isWrongLastSequence(err: unknown): boolean {
  return jetStreamErrCode(err) === JetStreamApiCodes.StreamWrongLastSequence;
}
