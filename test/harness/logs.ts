import { readFileSync } from 'node:fs';
import type { LogSource } from '@walrus/harness';

/**
 * The logs of everything a test file started (walrus processes, in-process
 * services, nats-server, PostgreSQL), so that `setup.ts` can print them when
 * a test or a hook fails: on CI the failure must be readable from the log
 * alone, and the temporary directories are gone by the time anyone looks.
 *
 * Sources register themselves (walrus-process.ts, in-process.ts, the server
 * wrappers in mod.ts); nothing is printed while tests pass.
 */

interface Entry extends LogSource {
  id: number;
  /** Lines already printed (a later failure prints only what came after); -1: "no output" said. */
  shown: number;
}

/** At most this many lines per source and failure: enough for the start-up and the last seconds. */
const MAX_LINES = 200;

const entries: Entry[] = [];
let nextId = 1;
const fileReaders = new Set<() => string[]>();

export function registerLogSource(source: LogSource): void {
  entries.push({ ...source, id: nextId++, shown: 0 });
}

/**
 * A log file, read when needed. The last text read is kept, so that the log
 * can still be shown after the server's directory was removed: call
 * `snapshotLogFiles()` before removing it.
 */
export function registerLogFile(name: string, file: string, running: () => boolean): void {
  let cached: string[] = [];
  const read = (): string[] => {
    try {
      cached = readFileSync(file, 'utf8').split('\n');
      if (cached.at(-1) === '') cached.pop();
    } catch {
      // Removed: keep what was read last.
    }
    return cached;
  };
  fileReaders.add(read);
  registerLogSource({ name, lines: read, running });
}

/** Reads every registered log file now (before a cleanup removes them). */
export function snapshotLogFiles(): void {
  for (const read of fileReaders) read();
}

/** What a test needs shown if it fails: the sources running at its start and those it starts. */
export interface LogScope {
  runningAtStart: Set<number>;
  firstId: number;
}

export function beginLogScope(): LogScope {
  return { runningAtStart: new Set(entries.filter((e) => e.running()).map((e) => e.id)), firstId: nextId };
}

/** Every source of the file (a failed beforeAll: everything so far). */
export function wholeFileScope(): LogScope {
  return { runningAtStart: new Set(entries.map((e) => e.id)), firstId: nextId };
}

/** The logs of the sources in `scope`, the lines not printed before, as one text (empty when there is nothing new). */
export function takeLogs(scope: LogScope, why: string): string {
  const parts: string[] = [];
  for (const e of entries) {
    const startedInScope = e.id >= scope.firstId;
    if (!(startedInScope || scope.runningAtStart.has(e.id))) continue;
    let lines: string[];
    try {
      lines = e.lines();
    } catch (err) {
      lines = [`(could not read: ${err instanceof Error ? err.message : String(err)})`];
    }
    const state = e.running() ? 'running' : 'stopped';
    if (lines.length === 0) {
      // Started and silent: worth knowing (a process that never got going).
      if (startedInScope && e.shown === 0 && e.reportSilence !== false) parts.push(`──── ${e.name} (${state}): no output ────`);
      e.shown = -1;
      continue;
    }
    const shown = Math.max(e.shown, 0);
    if (lines.length <= shown) continue;
    const from = Math.max(shown, lines.length - MAX_LINES);
    const omitted = from - shown;
    e.shown = lines.length;
    parts.push(
      `──── ${e.name} (${state}): lines ${from + 1}-${lines.length}${omitted > 0 ? ` (${omitted} earlier lines left out)` : ''} ────`,
      ...lines.slice(from),
    );
  }
  if (parts.length === 0) return '';
  return [`════ logs of what this test file started (${why}) ════`, ...parts, '════ end of logs ════'].join('\n');
}
