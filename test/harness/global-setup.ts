import { systemProblems } from './system-check.js';

/**
 * vitest globalSetup of the integration project: before any test starts,
 * one line naming what the machine lacks (see system-check.ts), and the run
 * stops there. The unit project needs nothing and does not run this.
 */
export default function checkSystem(): void {
  const problems = systemProblems();
  if (problems.length === 0) return;
  // Exit at once: a thrown error would come after vitest's "No test files
  // found" and its project listing, and bury the one line that matters.
  console.error(`\nwalrus: the integration tests cannot run here: ${problems.join('; ')}\n`);
  process.exit(1);
}
