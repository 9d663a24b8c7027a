import { onServersOptions, serversOptions } from './options.js';

/**
 * One registry of everything this process started, torn down in reverse
 * order of registration. Three ways in:
 *
 * - `cleanupAll()` (the normal path: a test file's `afterAll`, the demo's
 *   shutdown; graceful, async, errors reported);
 * - process `exit` (a test file that forgot, vitest ending the worker, a
 *   forced exit): only synchronous work can run there, so each entry may
 *   carry a `sync` variant (SIGKILL + rmSync);
 * - SIGINT / SIGTERM / SIGHUP, unless `cleanupOnSignals` is off: the
 *   synchronous variants at once (a second signal or vitest itself may end
 *   the process any moment), then the signal is re-raised when nobody else
 *   listens for it, so the process still dies the way it was asked to.
 *
 * A SIGKILLed process cannot clean up: its servers are then orphans whose
 * directories are named <tempPrefix>* (walrus-test-*, walrus-demo-*) under
 * /dev/shm or /tmp (`pgrep -af walrus-test-` finds them).
 */

export type CleanupFn = () => void | Promise<void>;

export interface CleanupOptions {
  /** Shown when the step fails. */
  name?: string;
  /** Synchronous best-effort variant for process exit and signals. */
  sync?: () => void;
}

interface Entry {
  id: number;
  name: string;
  run: CleanupFn;
  sync: (() => void) | undefined;
}

const entries = new Map<number, Entry>();
let nextId = 1;
let hooksInstalled = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const signalHooks = new Map<NodeJS.Signals, () => void>();

/** Registers a cleanup step; returns a function that unregisters it (call it when the step ran on its own). */
export function registerCleanup(run: CleanupFn, options: CleanupOptions = {}): () => void {
  installProcessHooks();
  const id = nextId++;
  entries.set(id, { id, name: options.name ?? `cleanup #${id}`, run, sync: options.sync });
  return () => {
    entries.delete(id);
  };
}

/** Number of registered, not yet run steps (a test can assert it is 0 at the end). */
export function pendingCleanups(): string[] {
  return [...entries.values()].map((e) => e.name);
}

function takeLast(): Entry | undefined {
  let last: Entry | undefined;
  for (const entry of entries.values()) last = entry;
  if (last) entries.delete(last.id);
  return last;
}

/** Runs every registered step, newest first; throws one AggregateError naming every failed step. */
export async function cleanupAll(): Promise<void> {
  const failures: Error[] = [];
  for (let entry = takeLast(); entry; entry = takeLast()) {
    try {
      await entry.run();
    } catch (err) {
      failures.push(new Error(`cleanup "${entry.name}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
  }
}

/** Synchronous best effort: for process exit and signals. */
export function cleanupAllSync(): void {
  for (let entry = takeLast(); entry; entry = takeLast()) {
    try {
      if (entry.sync) entry.sync();
      else void Promise.resolve(entry.run()).catch(() => undefined);
    } catch {
      // Nothing sensible to do while the process is going away; carry on with the rest.
    }
  }
}

function installProcessHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', cleanupAllSync);
  setSignalHooks(serversOptions().cleanupOnSignals);
  onServersOptions((options) => setSignalHooks(options.cleanupOnSignals));
}

function setSignalHooks(enabled: boolean): void {
  if (!enabled) {
    for (const [signal, hook] of signalHooks) process.removeListener(signal, hook);
    signalHooks.clear();
    return;
  }
  for (const signal of SIGNALS) {
    if (signalHooks.has(signal)) continue;
    const onSignal = (): void => {
      cleanupAllSync();
      process.removeListener(signal, onSignal);
      signalHooks.delete(signal);
      // Our listener suppressed the default action; restore it unless someone
      // else (vitest) has taken charge of this signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    signalHooks.set(signal, onSignal);
    process.on(signal, onSignal);
  }
}
