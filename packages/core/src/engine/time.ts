/*
 * The engine compares instants as epoch milliseconds and stores them as UTC
 * ISO strings: collected_at may carry any offset ("+02:00") or sub-millisecond
 * digits, and string comparison of such values would be wrong.
 */
export const toMs = (iso: string): number => Date.parse(iso);
export const toIso = (ms: number): string => new Date(ms).toISOString();
