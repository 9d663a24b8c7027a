// The tests' wait deadline is the harness's (see there): one number for waitFor, waitForLog and waitForStderr.
export { WAIT_DEFAULT_MS } from '@walrus/harness';
