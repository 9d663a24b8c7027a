import type { NatsConnection, Subscription } from '@nats-io/transport-node';

export interface Arrival<T> {
  value: T;
  /** performance.now() when the message reached this process. */
  atMs: number;
}

/**
 * A plain NATS subscription (as an alert subscriber would use) that notes
 * when each message arrived, keyed so a round can ask for "its" message
 * whether it came before or after the round started waiting.
 */
export class Arrivals<T> {
  private readonly seen = new Map<string, Arrival<T>>();
  private readonly waiting = new Map<string, (a: Arrival<T>) => void>();
  private readonly sub: Subscription;
  /** Messages that did not parse: shown when a round times out. */
  readonly problems: string[] = [];

  constructor(
    nc: NatsConnection,
    readonly subject: string,
    parse: (data: Uint8Array) => T,
    key: (value: T) => string,
  ) {
    // A callback, not an async iterator: the arrival time is taken before any
    // queueing in this process.
    this.sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        const atMs = performance.now();
        if (err) {
          this.problems.push(err.message);
          return;
        }
        let value: T;
        try {
          value = parse(msg.data);
        } catch (e) {
          this.problems.push(e instanceof Error ? e.message : String(e));
          return;
        }
        const k = key(value);
        const arrival = { value, atMs };
        const resolve = this.waiting.get(k);
        if (resolve) {
          this.waiting.delete(k);
          resolve(arrival);
        } else {
          this.seen.set(k, arrival);
        }
      },
    });
  }

  /** The message with this key if it has arrived, without consuming it (for error reports). */
  peek(k: string): Arrival<T> | undefined {
    return this.seen.get(k);
  }

  /** The message with this key (consumed), or an error after timeoutMs. */
  wait(k: string, timeoutMs: number, what: string): Promise<Arrival<T>> {
    const early = this.seen.get(k);
    if (early) {
      this.seen.delete(k);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(k);
        const extra = this.problems.length ? `; unparsable messages: ${this.problems.slice(-3).join(' | ')}` : '';
        reject(new Error(`no ${what} on ${this.subject} within ${timeoutMs} ms${extra}`));
      }, timeoutMs);
      this.waiting.set(k, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
  }

  unsubscribe(): void {
    this.sub.unsubscribe();
  }
}
