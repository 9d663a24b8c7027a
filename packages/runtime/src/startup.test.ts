import { Writable } from 'node:stream';
import { JetStreamApiError as NatsJetStreamApiError } from '@nats-io/jetstream';
import { jserrors } from '@nats-io/jetstream/internal';
import { errors as natsErrors } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isAbortError } from './backoff.js';
import { JetStreamApiError, JetStreamNoRespondersError, JetStreamRequestTimeoutError } from './js-requests.js';
import { createLogger } from './logger.js';
import { StartupWaits } from './startup.js';
import { isNatsRefusal, isTransientJetStreamError } from './jetstream-errors.js';

function capture() {
  const lines: Array<Record<string, unknown> & { msg: string; level: number }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: createLogger({ level: 'debug', name: 'test', destination }) };
}

const apiError = (code: number, err_code: number, description = 'x') => new NatsJetStreamApiError({ code, err_code, description });
const FAST = { initialMs: 1, maxMs: 2 };

describe('startup waits - one line when a wait begins, one when it ends', () => {
  it('retries transient failures, shows the wait while it lasts, and logs begin and end once', async () => {
    const { lines, log } = capture();
    const waits = new StartupWaits(log);
    const seen: string[][] = [];
    let calls = 0;
    const value = await waits.wait(
      'JetStream streams',
      async () => {
        seen.push(waits.waiting().map((w) => `${w.for}: ${w.reason} (${w.attempts})`));
        calls += 1;
        if (calls <= 5) throw new natsErrors.TimeoutError();
        return 42;
      },
      { backoff: FAST },
    );
    expect(value).toBe(42);
    expect(seen[0]).toEqual([]);
    expect(seen[1]).toEqual(['JetStream streams: TimeoutError: timeout (1)']);
    expect(seen[5]).toEqual(['JetStream streams: TimeoutError: timeout (5)']);
    expect(waits.waiting()).toEqual([]);
    const info = lines.filter((l) => l.level >= 30);
    expect(info.map((l) => l.msg)).toEqual(['waiting for a dependency; retrying with backoff', 'dependency available; going on']);
    expect(info[0]).toMatchObject({ waitingFor: 'JetStream streams', reason: 'TimeoutError: timeout' });
    expect(info[1]).toMatchObject({ waitedFor: 'JetStream streams', attempts: 5 });
  });

  it('logs nothing for a dependency that answers at once', async () => {
    const { lines, log } = capture();
    expect(await new StartupWaits(log).wait('NATS', async () => 'ok')).toBe('ok');
    expect(lines).toEqual([]);
  });

  it('reminds at most once per reminder interval while the wait lasts', async () => {
    const { lines, log } = capture();
    let clock = 0;
    const waits = new StartupWaits(log, { now: () => clock, reminderMs: 60_000 });
    let calls = 0;
    await waits.wait(
      'history database',
      async () => {
        calls += 1;
        clock += 25_000; // each attempt "takes" 25 s
        if (calls <= 7) throw new JetStreamNoRespondersError('no responders');
      },
      { backoff: FAST },
    );
    // Failures at 25..175 s: the wait begins at 25 s, reminders at 100 s and 175 s.
    expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual([
      'waiting for a dependency; retrying with backoff',
      'still waiting for a dependency',
      'still waiting for a dependency',
      'dependency available; going on',
    ]);
  });

  it('throws a failure that is not transient at once, without a waiting line', async () => {
    const { lines, log } = capture();
    const refused = apiError(500, 10074, 'replicas > 1 not supported in non-clustered mode');
    await expect(
      new StartupWaits(log).wait('JetStream streams', async () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('ends at once, with an AbortError, when the process is asked to stop', async () => {
    const { log } = capture();
    const stop = new AbortController();
    const waits = new StartupWaits(log, { signal: stop.signal });
    const waiting = waits.wait(
      'NATS',
      async () => {
        throw new JetStreamRequestTimeoutError('timed out');
      },
      { backoff: { initialMs: 3_600_000, maxMs: 3_600_000 } },
    );
    setImmediate(() => stop.abort());
    expect(isAbortError(await waiting.catch((e: unknown) => e))).toBe(true);
    expect(waits.waiting()).toEqual([]);
  });
});

describe('startup waits - transient or not, by class and JetStream code', () => {
  it('waits out timeouts, no responders, leader elections and JetStream not (yet) available', () => {
    for (const err of [
      new natsErrors.TimeoutError(),
      new natsErrors.RequestError('no responders', { cause: new natsErrors.NoRespondersError('$JS.API.INFO') }),
      new natsErrors.ConnectionError('connection refused'),
      new jserrors.JetStreamNotEnabled('jetstream is not enabled'),
      new JetStreamRequestTimeoutError('timed out'),
      new JetStreamNoRespondersError('no responders'),
      apiError(503, 10008, 'JetStream system temporarily unavailable'),
      apiError(500, 10009, 'JetStream cluster can not handle request'),
      apiError(400, 10005, 'no suitable peers for placement'),
      apiError(503, 10076, 'JetStream not enabled'),
      apiError(500, 10118, 'stream is offline'),
      apiError(500, 10049, 'some stream create failure'),
      new JetStreamApiError(503, 10008, 'JetStream system temporarily unavailable'),
    ]) {
      expect([err.name, isTransientJetStreamError(err), isNatsRefusal(err)]).toEqual([err.name, true, false]);
    }
  });

  it('does not wait out refusals of the set-up itself', () => {
    for (const err of [
      apiError(500, 10074, 'replicas > 1 not supported in non-clustered mode'),
      apiError(400, 10058, 'stream name already in use with a different configuration'),
      apiError(503, 10010, 'JetStream clustering support required'),
      apiError(400, 10003, 'bad request'),
      new JetStreamApiError(400, 10065, 'subjects overlap with an existing stream'),
      new natsErrors.PermissionViolationError('Permissions Violation for Publish to "$JS.API.STREAM.CREATE.X"', 'publish', '$JS.API.STREAM.CREATE.X'),
    ]) {
      expect([err.message, isTransientJetStreamError(err), isNatsRefusal(err)]).toEqual([err.message, false, true]);
    }
    // Not found is neither: the caller decides (provisioning creates what is missing).
    const notFound = apiError(404, 10059, 'stream not found');
    expect([isTransientJetStreamError(notFound), isNatsRefusal(notFound)]).toEqual([false, true]);
    // Anything that is not a NATS error is not waited out either.
    expect(isTransientJetStreamError(new TypeError('x is not a function'))).toBe(false);
  });
});
