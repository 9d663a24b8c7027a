import { alterMaxWalSize } from '../sql/max-wal-size.js';
import type { ApplyStrategy } from './types.js';

/** The default: `ALTER SYSTEM SET max_wal_size` + `pg_reload_conf()` on the node walrus connects to. */
export const alterSystemStrategy: ApplyStrategy = {
  name: 'alter_system',
  apply: (client, sizeMb, slotKeepMb) => alterMaxWalSize(client, sizeMb, slotKeepMb),
};
