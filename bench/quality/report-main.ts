/** `pnpm bench:quality:report DIR`: the tables and goals of a recorded run, recomputed from its raw output. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport } from './report.js';
import { readResults } from './results.js';

// quality.mjs report DIR: the directory follows the word report.
const dir = process.argv[3];
if (dir === undefined || dir === '--help' || !existsSync(join(dir, 'run.json'))) {
  process.stderr.write(`Usage: pnpm bench:quality:report bench/results/<dir>\n${dir === undefined || dir === '--help' ? '' : `${dir}: no run.json there\n`}`);
  process.exit(dir === '--help' ? 0 : 2);
}
process.stdout.write(renderReport(readResults(dir)));
