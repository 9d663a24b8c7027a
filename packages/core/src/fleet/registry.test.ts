import { describe, expect, it } from 'vitest';
import { overlaySettings, registryParamProblems, registrySettings, RegistryEntryV1 } from './registry.js';

describe('registry - entries and their parameters', () => {
  it('reads an entry, keeping out fields it does not know', () => {
    const e = RegistryEntryV1.parse({ v: 1, url: 'postgres://walrus@db1/postgres', params: { max: '8GB' }, future: true });
    expect(e).toEqual({ v: 1, url: 'postgres://walrus@db1/postgres', params: { max: '8GB' } });
    expect(RegistryEntryV1.safeParse({ v: 1, url: 'mysql://x' }).success).toBe(false);
  });

  it('names every unknown parameter and every value a parameter refuses', () => {
    expect(registryParamProblems({ max: '8GB', threshold: '3' })).toEqual([]);
    const problems = registryParamProblems({ maxx: '1', threshold: '0' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^parameter maxx: unknown/);
    expect(problems[1]).toMatch(/^parameter threshold: "0" is invalid/);
  });

  it("lays the registry's parameters under the server's own walrus.* settings, which win", () => {
    const registry = registrySettings({ params: { max: '8GB', threshold: '3' } });
    expect(registry).toEqual({ 'walrus.max': '8GB', 'walrus.threshold': '3' });
    expect(overlaySettings(registry, { 'walrus.max': '2GB' })).toEqual({ 'walrus.max': '2GB', 'walrus.threshold': '3' });
    // Reset on the server (an empty placeholder): the registry's value stands.
    expect(overlaySettings(registry, { 'walrus.threshold': '' })).toEqual({ 'walrus.max': '8GB', 'walrus.threshold': '3' });
  });
});
