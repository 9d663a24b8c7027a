import { describe, expect, it } from 'vitest';
import { selectStrategy } from './select.js';

describe('strategies - selection from the cluster URL', () => {
  it('strategies - a plain URL uses ALTER SYSTEM, unchanged', () => {
    const r = selectStrategy('a', 'postgres://u:p@h1,h2/db', 1000);
    expect(r).toMatchObject({ ok: true, value: { url: 'postgres://u:p@h1,h2/db', strategy: { name: 'alter_system' } } });
  });

  it('strategies - patroni parameters select the strategy and are removed; libpq parameters stay', () => {
    const r = selectStrategy('a', 'postgres://u@h/db?sslmode=require&walrus_apply=patroni&walrus_patroni_url=http%3A%2F%2Fh%3A8008&walrus_patroni_password=x', 1000);
    expect(r).toMatchObject({ ok: true, value: { url: 'postgres://u@h/db?sslmode=require', strategy: { name: 'patroni' } } });
  });

  it('strategies - names what is wrong', () => {
    expect(selectStrategy('a', 'postgres://h/db?walrus_apply=patroni', 1000)).toMatchObject({ ok: false, problem: expect.stringMatching(/needs walrus_patroni_url/) });
    expect(selectStrategy('a', 'postgres://h/db?walrus_patroni_url=http://x', 1000)).toMatchObject({ ok: false, problem: expect.stringMatching(/walrus_apply is not patroni/) });
    expect(selectStrategy('a', 'postgres://h/db?walrus_apply=alter_system', 1000)).toMatchObject({ ok: true, value: { url: 'postgres://h/db' } });
  });
});
