import type { Msg } from '@nats-io/transport-node';
import { ApiFailure, type ApiReply } from '@walrus/core';
import { errorMessage } from './errors.js';

/**
 * The reply to one request (control's API, the deciders' requests): its body
 * (JSON, `{}` when empty) handed to `handle`, the result as `ok`, any error as
 * its ApiFailure code and message (`failed` for other errors, which
 * `onFailure` sees with the original error). The caller counts and sends it.
 */
export async function replyTo(
  msg: Msg,
  handle: (body: unknown) => Promise<unknown>,
  onFailure: (failure: ApiFailure, err: unknown) => void,
): Promise<ApiReply<unknown>> {
  try {
    let body: unknown = {};
    if (msg.data.length > 0) {
      try {
        body = msg.json();
      } catch {
        throw new ApiFailure('bad_request', 'the request is not JSON');
      }
    }
    return { ok: true, result: await handle(body) };
  } catch (err) {
    const failure = err instanceof ApiFailure ? err : new ApiFailure('failed', errorMessage(err), { cause: err });
    onFailure(failure, err);
    return { ok: false, error: { code: failure.code, message: failure.message } };
  }
}
