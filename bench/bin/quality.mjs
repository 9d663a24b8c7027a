#!/usr/bin/env node
// `pnpm bench:quality`: TypeScript loaded through tsx's ESM hooks in this
// same process, so Ctrl-C reaches the benchmark and it stops what it started.
// `pnpm bench:quality:report DIR` (`quality.mjs report DIR`) recomputes a recorded run's tables.
import { register } from 'tsx/esm/api';

register();
if (process.argv[2] === 'report') await import('../quality/report-main.ts');
else await import('../quality/main.ts');
