/**
 * Keys claimed once per process. The process that starts the services
 * (`walrus all` runs five) hands one to each of them (ServiceDeps.once), so
 * that what each would say about the same thing (a cluster reached as a
 * superuser) is said once.
 */
export class OncePerProcess {
  private readonly claimed = new Set<string>();

  /** True the first time `key` is claimed. */
  claim(key: string): boolean {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  release(key: string): void {
    this.claimed.delete(key);
  }
}
