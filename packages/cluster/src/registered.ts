import type { RegistryEntry } from '@walrus/core';
import { specFromRegistry, type ClusterSpec } from './spec.js';

/** One registry key as a watch delivers it (runtime's RegistryChange). */
export interface RegistryUpdate {
  id: string;
  entry: RegistryEntry | null;
  invalid?: string;
  revision: number;
  storedMs: number;
}

export interface Registered {
  /** null: registered, but the entry cannot be served (the problem was reported). */
  spec: ClusterSpec | null;
  revision: number;
  storedMs: number;
}

/**
 * The registry as one process follows it: every registered cluster parsed
 * once, when its entry arrives. An entry that cannot be served (an invalid
 * URL or parameter written by a newer or a careless writer) is reported
 * through `onProblem` and kept as unservable, not dropped silently.
 */
export class RegisteredClusters {
  private readonly byId = new Map<string, Registered>();

  constructor(private readonly onProblem: (cluster: string, problem: string) => void) {}

  /** Applies changes; returns the clusters that left the registry and those whose entry changed. */
  update(changes: readonly RegistryUpdate[]): { removed: string[]; changed: string[] } {
    const removed: string[] = [];
    const changed: string[] = [];
    for (const c of changes) {
      const known = this.byId.has(c.id);
      if (c.entry === null) {
        if (c.invalid !== undefined) {
          this.onProblem(c.id, `the stored entry cannot be read: ${c.invalid}`);
          this.byId.set(c.id, { spec: null, revision: c.revision, storedMs: c.storedMs });
          if (known) changed.push(c.id);
          continue;
        }
        if (this.byId.delete(c.id)) removed.push(c.id);
        continue;
      }
      const r = specFromRegistry(c.id, c.entry);
      if (!r.ok) this.onProblem(c.id, r.problem);
      this.byId.set(c.id, { spec: r.ok ? r.value : null, revision: c.revision, storedMs: c.storedMs });
      if (known) changed.push(c.id);
    }
    return { removed, changed };
  }

  get(id: string): Registered | undefined {
    return this.byId.get(id);
  }

  spec(id: string): ClusterSpec | undefined {
    return this.byId.get(id)?.spec ?? undefined;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  entries(): IterableIterator<[string, Registered]> {
    return this.byId.entries();
  }

  get size(): number {
    return this.byId.size;
  }
}
