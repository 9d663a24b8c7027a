import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { waitFor } from './mod.js';

export interface Received<T = Record<string, unknown>> {
  subject: string;
  data: T;
}

/**
 * A plain NATS subscription, as an alert subscriber would use: collects every
 * message on the subjects for the test to inspect.
 */
export class SubjectWatch {
  readonly messages: Received[] = [];
  private constructor(
    private readonly nc: NatsConnection,
    private readonly subs: Subscription[],
  ) {}

  static async open(url: string, subjects: string[]): Promise<SubjectWatch> {
    const nc = await connect({ servers: url, name: 'walrus-test-watch' });
    const subs = subjects.map((s) => nc.subscribe(s));
    const w = new SubjectWatch(nc, subs);
    for (const sub of subs) {
      void (async () => {
        for await (const m of sub) {
          let data: Record<string, unknown>;
          try {
            data = m.json<Record<string, unknown>>();
          } catch {
            data = { raw: m.string() };
          }
          w.messages.push({ subject: m.subject, data });
        }
      })();
    }
    await nc.flush();
    return w;
  }

  on(subject: string): Record<string, unknown>[] {
    return this.messages.filter((m) => m.subject === subject).map((m) => m.data);
  }

  /** Waits for a message on `subject` that matches, and returns it. */
  async next(subject: string, match: (d: Record<string, unknown>) => boolean, what: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return waitFor(() => this.on(subject).find(match), { what, timeoutMs, intervalMs: 100 });
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
