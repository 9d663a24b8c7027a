import pg from 'pg';
import type { MemberEndpoint } from './cluster-url.js';
import { clientWithPassword, passwordCallback, type PasswordSource } from './passwords.js';

/**
 * One pg.Pool per member of a cluster, created on first use. A member that
 * leaves the list has its pool ended (`retain`); a member whose URL changed
 * (Patroni moved it) gets a new pool.
 */
export class MemberPools {
  private readonly pools = new Map<string, { url: string; pool: pg.Pool }>();

  constructor(
    private readonly options: Omit<pg.PoolConfig, 'connectionString'>,
    private readonly onIdleError: (member: string, err: Error) => void = () => undefined,
    /** Where the password comes from when the member URLs have none (a registered cluster's password file). */
    private readonly password: PasswordSource | null = null,
  ) {}

  /** Members with a pool now. */
  get size(): number {
    return this.pools.size;
  }

  pool(member: MemberEndpoint): pg.Pool {
    const known = this.pools.get(member.name);
    if (known && known.url === member.url) return known.pool;
    if (known) void known.pool.end().catch(() => undefined);
    const pool = new pg.Pool({
      ...this.options,
      connectionString: member.url,
      ...(this.password ? { Client: clientWithPassword(passwordCallback(this.password, member)) } : {}),
    });
    pool.on('error', (err) => this.onIdleError(member.name, err));
    // pg-pool listens for errors on idle clients only: a client held between
    // two queries when the server ends its session (a fast shutdown,
    // pg_terminate_backend) would emit an 'error' nobody handles and crash
    // the process. Its next query fails instead, and the caller handles that.
    pool.on('connect', (client) => client.on('error', () => undefined));
    this.pools.set(member.name, { url: member.url, pool });
    return pool;
  }

  /** Ends the pools of members not in `names`. */
  async retain(names: Iterable<string>): Promise<void> {
    const keep = new Set(names);
    const gone = [...this.pools].filter(([name]) => !keep.has(name));
    for (const [name] of gone) this.pools.delete(name);
    await Promise.all(gone.map(([, p]) => p.pool.end().catch(() => undefined)));
  }

  async end(): Promise<void> {
    await this.retain([]);
  }
}
