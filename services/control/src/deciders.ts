import { RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import {
  ApiFailure,
  deciderSubject,
  type ApiReply,
  type DeciderAnalyzeRequest,
  type DeciderAnalyzeResult,
  type DeciderRequest,
  type DeciderResetResult,
} from '@walrus/core';

/** A decider answers in milliseconds; this leaves room for a loaded one. */
export const DECIDER_REQUEST_TIMEOUT_MS = 10_000;

const WHAT: Record<DeciderRequest, string> = {
  analyze: 'analyze with apply',
  reset: 'reset',
};
const AFTER_TIMEOUT: Record<DeciderRequest, string> = {
  analyze: 'the decision may still be made: see walrus watch',
  reset: 'the state may still be cleared: see walrus status',
};

/**
 * The control service's side of walrus.decider.*: deciders alone publish
 * decisions and write walrus_state, so analyze with apply and reset are
 * asked of one of them (queue group: exactly one answers). A decider's
 * error comes back with its own code and text; no decider at all is
 * `unavailable`, which the CLI reports like an absent control service.
 */
export class Deciders {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = DECIDER_REQUEST_TIMEOUT_MS,
  ) {}

  analyze(req: DeciderAnalyzeRequest): Promise<DeciderAnalyzeResult> {
    return this.ask('analyze', req);
  }

  reset(cluster: string): Promise<DeciderResetResult> {
    return this.ask('reset', { cluster });
  }

  private async ask<T>(request: DeciderRequest, body: unknown): Promise<T> {
    const subject = deciderSubject(request);
    let text: string;
    try {
      text = (await this.nc.request(subject, JSON.stringify(body), { timeout: this.timeoutMs })).string();
    } catch (err) {
      if (err instanceof RequestError && err.isNoResponders()) {
        throw new ApiFailure('unavailable', `no walrus decider answers on ${subject}: ${WHAT[request]} is carried out by a decider; start \`walrus decider\` or \`walrus all\``, {
          cause: err,
        });
      }
      if (err instanceof TimeoutError) {
        throw new ApiFailure('unavailable', `no walrus decider answered on ${subject} within ${this.timeoutMs / 1000} s; ${AFTER_TIMEOUT[request]}`, { cause: err });
      }
      throw err;
    }
    let reply: ApiReply<T>;
    try {
      reply = JSON.parse(text) as ApiReply<T>;
    } catch {
      throw new ApiFailure('failed', `the decider's answer on ${subject} is not JSON: ${text.slice(0, 200)}`);
    }
    if (!reply.ok) throw new ApiFailure(reply.error.code, reply.error.message);
    return reply.result;
  }
}
