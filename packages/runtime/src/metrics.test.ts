import { describe, expect, it } from 'vitest';
import { createRegistry } from './metrics.js';

describe('metrics - the process registry', () => {
  it('labels every series with the service, and keeps _total for counters only', async () => {
    const text = await createRegistry('decider').metrics();
    expect(text).toContain('walrus_process_cpu_seconds_total{service="decider"}');
    expect(text).toMatch(/^walrus_nodejs_active_handles\{type="[^"]+",service="decider"\} \d+$/m);
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    expect(types.size).toBeGreaterThan(10);
    for (const [name, type] of types) if (name.endsWith('_total')) expect(type, name).toBe('counter');
  });
});
