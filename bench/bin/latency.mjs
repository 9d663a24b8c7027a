#!/usr/bin/env node
// `pnpm bench:latency`: the sources are TypeScript, loaded through tsx's ESM
// hooks in this same process (no child process), so Ctrl-C reaches the
// benchmark itself and it can stop what it started.
import { register } from 'tsx/esm/api';

register();
await import('../latency/main.ts');
