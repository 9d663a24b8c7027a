// Process helpers of @walrus/servers, for tests that check what is left running.
import './mod.js';

export { childrenOf, killTree, killTreeSync, makeTempDir, postgresRunAs, processGone, tempBase, tempRoot, type RunAs } from '@walrus/servers';
