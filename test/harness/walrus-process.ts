import * as harness from '@walrus/harness';
import type { WalrusProcess } from '@walrus/harness';
import { registerLogSource } from './logs.js';

export type { LogLine, WalrusProcess } from '@walrus/harness';

/** A `walrus <command>` process (@walrus/harness's startWalrus), its output printed when a test fails. */
export function startWalrus(args: string[], env: Record<string, string>, nodeArgs: string[] = []): WalrusProcess {
  return harness.startWalrus(args, env, { nodeArgs, onLogSource: registerLogSource });
}
