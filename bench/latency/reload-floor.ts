import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientBase } from 'pg';

/**
 * PostgreSQL's own share, with no walrus in the path: ALTER SYSTEM +
 * pg_reload_conf() from one session (as the applier sends them), then the
 * same observer as the rounds until the new value shows. pg_reload_conf()
 * only signals the postmaster, which re-reads the files and signals every
 * backend; each backend re-reads them itself at the start of its next command.
 * Runs before the applier starts and leaves max_wal_size at `lowMb`.
 */
export async function measureReloadFloor(
  admin: ClientBase,
  observer: ClientBase,
  pollSql: string,
  o: { count: number; lowMb: number; highMb: number; timeoutMs: number },
): Promise<{ statements: number[]; visible: number[] }> {
  const set = async (mb: number) => {
    // A fixed pair of integers formatted here, not text from outside.
    await admin.query(`ALTER SYSTEM SET max_wal_size = '${mb.toFixed(0)}MB'`);
    await admin.query('SELECT pg_catalog.pg_reload_conf()');
  };
  const statements: number[] = [];
  const visible: number[] = [];
  // The first two cycles (first ALTER SYSTEM, first plans) are not counted.
  const total = o.count === 0 ? 0 : o.count + 2;
  for (let i = 0; i < total; i++) {
    const target = i % 2 === 0 ? o.highMb : o.lowMb;
    const t0 = performance.now();
    await set(target);
    const statementsMs = performance.now() - t0;
    for (;;) {
      const { rows } = await observer.query<{ setting: string }>(pollSql);
      const t1 = performance.now();
      if (Number(rows[0]?.setting) === target) {
        if (i >= 2) {
          statements.push(statementsMs);
          visible.push(t1 - t0);
        }
        break;
      }
      if (t1 - t0 > o.timeoutMs) throw new Error(`max_wal_size did not become ${target} MB within ${o.timeoutMs} ms of ALTER SYSTEM + reload`);
    }
    await sleep(5);
  }
  if (total % 2 === 1) {
    await set(o.lowMb);
    const deadline = performance.now() + o.timeoutMs;
    while (Number((await observer.query<{ setting: string }>(pollSql)).rows[0]?.setting) !== o.lowMb) {
      if (performance.now() > deadline) throw new Error(`max_wal_size did not return to ${o.lowMb} MB`);
    }
  }
  return { statements, visible };
}
