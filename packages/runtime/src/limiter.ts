/**
 * A counting semaphore: at most `limit` holders at once, the others wait in
 * arrival order. The applier's start-up checks take one slot each. The collector takes one slot per statistics query, after the
 * connection is established, so that a thousand clusters never query at the
 * same moment while an unreachable one (waiting for its connect timeout)
 * holds no slot and delays nobody.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    return this.releaser();
  }

  /**
   * A slot now, or null when none is free or someone waits: for work that
   * may be skipped (the collector's pressure probes) and must never make
   * the queue longer for work that may not.
   */
  tryAcquire(): (() => void) | null {
    if (this.active >= this.limit || this.waiting.length > 0) return null;
    this.active++;
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; active stays the same.
      if (next) next();
      else this.active--;
    };
  }
}
