import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applierEnvSchema } from '@walrus/applier';
import { collectorEnvSchema } from '@walrus/collector';
import { controlEnvSchema } from '@walrus/control';
import { POLICY_ENV_VARS } from '@walrus/core';
import { deciderEnvSchema } from '@walrus/decider';
import { historianEnvSchema } from '@walrus/historian';
import { commonEnvSchema } from '@walrus/runtime';
import { describe, expect, it } from 'vitest';

// The README is the operator's reference: every setting a service reads must
// be documented there.
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

describe('README - documents every setting', () => {
  const names = [
    ...Object.keys(commonEnvSchema.shape),
    ...Object.keys(collectorEnvSchema.shape),
    ...Object.keys(deciderEnvSchema.shape),
    ...Object.keys(applierEnvSchema.shape),
    ...Object.keys(historianEnvSchema.shape),
    ...Object.keys(controlEnvSchema.shape),
    'WALRUS_CLUSTERS',
    'WALRUS_CLUSTERS_FILE',
    ...POLICY_ENV_VARS.flatMap((v) => [v.name, v.parameter]),
  ];
  it.each(names)('%s', (name) => {
    expect(readme).toContain(`\`${name}\``);
  });

  it('gives the start and the test command', () => {
    expect(readme).toContain('pnpm walrus demo');
    expect(readme).toContain('pnpm test');
  });
});
