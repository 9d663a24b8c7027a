import { onTestFailed } from 'vitest';
import type { WalrusProcess } from './walrus-process.js';

/** Lines of each process's output printed; the end is what tells why. */
const TAIL_LINES = 400;

/**
 * Call inside a test: when it fails, the output of the walrus processes it
 * started (`procs()` is read at that moment) is printed to stderr, so that a
 * failure on a CI machine explains itself without a rerun.
 */
export function printLogsOnFailure(procs: () => Record<string, WalrusProcess | undefined>): void {
  onTestFailed(() => {
    for (const [name, p] of Object.entries(procs())) {
      if (!p) continue;
      const out = p.stdout().split('\n');
      const tail = out.slice(-TAIL_LINES).join('\n');
      const state = p.proc.exitCode !== null || p.proc.signalCode !== null ? `exited ${p.proc.exitCode ?? p.proc.signalCode}` : 'running';
      process.stderr.write(
        `\n===== walrus ${name} (${state}): last ${Math.min(TAIL_LINES, out.length)} of ${out.length} stdout lines =====\n${tail}\n` +
          `===== walrus ${name}: stderr =====\n${p.stderr()}\n`,
      );
    }
  });
}
