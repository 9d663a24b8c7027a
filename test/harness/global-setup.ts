import { tmpdir } from 'node:os';
import { removeStaleTempRoots } from '@walrus/servers';
import { systemProblems } from './system-check.js';

/**
 * vitest globalSetup of the integration project, before any test starts:
 * one line naming what the machine lacks (see system-check.ts), and the run
 * stops there; then the temporary directories that killed runs left behind
 * are removed. The unit project needs neither and does not run this.
 */
export default async function checkSystem(): Promise<void> {
  const problems = await systemProblems();
  if (problems.length > 0) {
    // Exit at once: a thrown error would come after vitest's "No test files
    // found" and its project listing, and bury the one line that matters.
    console.error(`\nwalrus: the integration tests cannot run here: ${problems.join('; ')}\n`);
    process.exit(1);
  }
  const bases = ['/dev/shm', tmpdir(), ...(process.env['WALRUS_TEST_TMPDIR'] ? [process.env['WALRUS_TEST_TMPDIR']] : [])];
  const removed = removeStaleTempRoots('walrus-test-', bases);
  if (removed.length > 0) console.log(`walrus: removed ${removed.length} temporary directories of earlier runs that were killed (${removed.join(', ')})`);
}
