import { MAX_WAL_SIZE_LIMIT_MB } from '../../schemas.js';

/**
 * current * factor, saturating at PostgreSQL's largest max_wal_size (INT_MAX
 * MB) as pg_walrus's i32 saturating_mul does. Plain numbers are exact up to
 * 2^53, far above any product compared here before saturation.
 */
export function saturatingMultiplyMb(currentMb: number, factor: number): number {
  const product = currentMb * factor;
  return product > MAX_WAL_SIZE_LIMIT_MB ? MAX_WAL_SIZE_LIMIT_MB : product;
}
