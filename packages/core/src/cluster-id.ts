import { z } from 'zod';

/** A cluster id is a NATS subject token: no dots, no wildcards, no spaces. */
export const CLUSTER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const ClusterId = z
  .string()
  .regex(CLUSTER_ID_PATTERN, 'cluster id must be 1 to 64 characters of [A-Za-z0-9_-]');

export function isValidClusterId(id: string): boolean {
  return CLUSTER_ID_PATTERN.test(id);
}
