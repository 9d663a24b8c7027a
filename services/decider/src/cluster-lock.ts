/**
 * One holder at a time per cluster within this decider process, the others
 * waiting in arrival order. The sample consumer and the requests served by
 * the same process (analyze --apply, reset) take it around their
 * read-evaluate-save of one cluster, so that they do not race each other to
 * a state conflict. Across processes the KV revision check is what keeps the
 * state right (StateStore.save); this lock only spares the retries, and the
 * decision published from a state that then fails to save, which a conflict
 * with the sample path could leave behind (see requests.ts).
 */
export class ClusterLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(cluster: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(cluster) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(cluster, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // The last holder leaves no entry behind: the map holds only clusters in use.
      if (this.tails.get(cluster) === tail) this.tails.delete(cluster);
    }
  }
}
