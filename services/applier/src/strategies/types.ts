import type { ClientBase } from 'pg';

/**
 * How a size is put in force on a cluster. The applier checks grants and
 * staleness before, and reads the value back after, whatever the strategy.
 */
export interface ApplyStrategy {
  /** `alter_system` or `patroni`: named in errors and logs. */
  readonly name: string;
  /** Sets max_wal_size to sizeMb (a checked integer), and max_slot_wal_keep_size to slotKeepMb when given, and makes the server reload. */
  apply(client: ClientBase, sizeMb: number, slotKeepMb?: number): Promise<void>;
}

/** A refusal by the cluster manager (not PostgreSQL); `transient` ones are retried until the decision expires. */
export class ManagerError extends Error {
  override name = 'ManagerError';
  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
