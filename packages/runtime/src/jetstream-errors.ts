import { JetStreamApiCodes, JetStreamApiError as NatsJetStreamApiError } from '@nats-io/jetstream';
import { jserrors, JetStreamStatusError } from '@nats-io/jetstream/internal';
import { errors as natsErrors } from '@nats-io/transport-node';
import { JetStreamApiError, JetStreamNoRespondersError, JetStreamRequestTimeoutError } from './js-requests.js';

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

/** The HTTP-like status (503, 404, …) JetStream gave with a refusal; undefined for anything else. */
export function jetStreamStatus(err: unknown): number | undefined {
  if (err instanceof JetStreamApiError) return err.code;
  if (err instanceof NatsJetStreamApiError) return err.status;
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

/*
 * Which NATS / JetStream failures are worth waiting out, decided by error
 * class and JetStream's own codes (never by message text): a JetStream
 * cluster electing a meta or stream leader answers `503 no responders`,
 * lets requests time out, or answers with one of the codes below, and all
 * of that passes by itself. What does not pass by itself is a refusal of
 * the request as configured (replicas on a single server, a stream that
 * exists with another configuration, a permission the NATS user lacks).
 */

/** JetStream `err_code`s that mean "not now" (nats-server's errors.json). */
const TRANSIENT_CODES = new Set([
  10004, // incomplete results (a peer did not answer)
  10005, // no suitable peers for placement (peers not known or not current yet)
  10007, // JetStream cluster not assigned to this server
  10008, // JetStream system temporarily unavailable (no meta leader)
  10009, // JetStream cluster can not handle request (not the leader)
  10023, // insufficient resources
  10035, // account not found (accounts still loading)
  10039, // JetStream not enabled for account (yet)
  10041, // general RAFT error
  10075, // peer remap failed
  10076, // JetStream not enabled (yet: a server starting or restarted without it)
  10077, // storing a message failed
  10118, // stream is offline
  10119, // consumer is offline
]);

/** JetStream `err_code`s that name a configuration problem, whatever their status code. */
const CONFIGURATION_CODES = new Set([
  10006, // JetStream not in clustered mode
  10010, // JetStream clustering support required
  10058, // stream name already in use with a different configuration
  10065, // subjects overlap with an existing stream
  10074, // replicas > 1 not supported in non-clustered mode
]);

/**
 * True when a NATS or JetStream request failed for a reason that passes by
 * itself: no connection right now, no responders, a timeout, a leader being
 * elected, JetStream not (yet) available.
 */
export function isTransientJetStreamError(err: unknown): boolean {
  if (
    err instanceof natsErrors.TimeoutError ||
    err instanceof natsErrors.NoRespondersError ||
    err instanceof natsErrors.ConnectionError ||
    err instanceof JetStreamRequestTimeoutError ||
    err instanceof JetStreamNoRespondersError ||
    // nats.js reports "no responders" from the JetStream API as this class.
    err instanceof jserrors.JetStreamNotEnabled
  ) {
    return true;
  }
  // A request error other than "no responders" wraps its cause (a timeout, a closed connection).
  if (err instanceof natsErrors.RequestError) return err.isNoResponders() || isTransientJetStreamError(err.cause);
  if (err instanceof JetStreamStatusError) return err.code === 503 || err.code === 408;
  const code = jetStreamErrCode(err);
  if (code === undefined) return false;
  if (TRANSIENT_CODES.has(code)) return true;
  if (CONFIGURATION_CODES.has(code)) return false;
  // Otherwise the status says it: 5xx is the server's trouble (a leader
  // change in progress), 4xx is an answer to this very request.
  const status = jetStreamStatus(err) ?? 0;
  return status >= 500 || status === 408;
}

/**
 * True when NATS refused a request as it was made (a permission the NATS
 * user lacks, a JetStream setting or limit): waiting would not change the
 * answer, the set-up has to.
 */
export function isNatsRefusal(err: unknown): boolean {
  if (err instanceof natsErrors.PermissionViolationError) return true;
  return jetStreamErrCode(err) !== undefined && !isTransientJetStreamError(err);
}
