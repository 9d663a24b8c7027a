#!/usr/bin/env node
// The `walrus` command. Sources are TypeScript, loaded through tsx's ESM
// hooks in this same process (no child process), so signals and exit codes
// reach walrus itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
