import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import type { ServiceDefinition } from '@walrus/runtime';

/** The services the `walrus` command runs alone, by subcommand. */
export const SERVICES: Record<string, ServiceDefinition<unknown>> = { collector, decider, applier, historian, control };

/**
 * `walrus all` (and `walrus demo`): every service in one process; the
 * collector last, so that samples flow once everything downstream runs.
 */
export const ALL_SERVICES: ServiceDefinition<unknown>[] = [historian, decider, applier, control, collector];

/** METRICS_PORT default of `walrus all`, distinct from each service's own so that they can share a host. */
export const ALL_DEFAULT_METRICS_PORT = 9100;
