import { afterAll, beforeEach } from 'vitest';
import type { RunnerTestFile, RunnerTestSuite } from 'vitest';
import { beginLogScope, takeLogs, wholeFileScope } from './logs.js';

/*
 * Registered for every integration test file (vitest.config.ts setupFiles):
 * when a test fails, print the logs of the services and servers that ran for
 * it; when a beforeAll/afterAll hook fails (nothing started, or the tests
 * were skipped), print everything the file started. Once here, not in each file.
 */

beforeEach((ctx) => {
  const scope = beginLogScope();
  ctx.onTestFailed(() => {
    const text = takeLogs(scope, `"${ctx.task.name}" failed`);
    if (text) console.error(text);
  });
});

function hookFailed(suite: Readonly<RunnerTestSuite | RunnerTestFile>): boolean {
  if (suite.result?.errors?.length) return true;
  return suite.tasks.some((t) => t.type === 'suite' && hookFailed(t));
}

// vitest reads the first parameter as a fixture pattern: it must be a destructuring.
afterAll(({}, suite) => {
  if (!hookFailed(suite)) return;
  const text = takeLogs(wholeFileScope(), 'a beforeAll or afterAll hook failed');
  if (text) console.error(text);
});
