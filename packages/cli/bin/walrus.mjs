#!/usr/bin/env -S node --max-semi-space-size=64
// The `walrus` command. Sources are TypeScript, loaded through tsx's ESM
// hooks in this same process (no child process), so signals and exit codes
// reach walrus itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
