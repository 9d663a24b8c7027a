#!/usr/bin/env node
// `pnpm bench:quality:report DIR`: the tables of a recorded run, recomputed from bench/results/<dir>.
import { register } from 'tsx/esm/api';

register();
await import('../quality/report-main.ts');
