#!/usr/bin/env node
// `pnpm bench:failover`: TypeScript loaded through tsx's ESM hooks in this
// same process, so Ctrl-C reaches the benchmark and it stops what it started.
import { register } from 'tsx/esm/api';

register();
await import('../failover/main.ts');
