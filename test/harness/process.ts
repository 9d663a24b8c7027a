// Process helpers of @walrus/servers, for tests that check what is left running.
import './mod.js';

export { childrenOf, processGone } from '@walrus/servers';
