import { evaluateCounters } from './counters.js';
import type { EvaluateInput, EvaluateResult } from './evaluation.js';
import { evaluateMembers } from './members.js';

/**
 * The rules for one sample of a cluster. A sample that names its member
 * (the collector's, since clusters may have several) goes through the
 * member rules first (members.ts: rule 1 per member, which member is the
 * primary, failover, standbys brought to the cluster's size), which hand
 * the primary's counters to ARCHITECTURE §4 (counters.ts). Pure: the same
 * state and sample give the same result (decided_at aside), which is what
 * makes redelivery and replay safe. step.ts is what the decider calls.
 */
export function evaluate(input: EvaluateInput): EvaluateResult {
  return input.sample.member === undefined ? evaluateCounters(input) : evaluateMembers(input, input.sample.member);
}
