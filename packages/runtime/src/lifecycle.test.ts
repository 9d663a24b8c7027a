import { describe, expect, it } from 'vitest';
import { onStopSignals } from './lifecycle.js';

// The second signal's forced exit ends the process: test/service-lifecycle.test.ts
// and test/demo.test.ts see it from outside. Here: what comes before it.
describe('lifecycle - onStopSignals', () => {
  it('lifecycle - the first signal asks for the stop, with its name', async () => {
    const firsts: string[] = [];
    const stopping = onStopSignals({ signals: ['SIGUSR2'], first: (s) => firsts.push(s), forced: () => undefined });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(await stopping.requested).toBe('SIGUSR2');
      expect(firsts).toEqual(['SIGUSR2']);
    } finally {
      stopping.dispose();
    }
  });

  it('lifecycle - the program may ask for the stop itself; dispose stops listening', async () => {
    const before = process.listenerCount('SIGUSR2');
    const stopping = onStopSignals({ signals: ['SIGUSR2'], forced: () => undefined });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    stopping.request('duration');
    expect(await stopping.requested).toBe('duration');
    stopping.dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
