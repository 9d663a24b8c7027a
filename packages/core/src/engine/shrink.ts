export interface ShrinkTarget {
  /** ceil(current * factor), before the floor. */
  calculatedMb: number;
  /** max(calculated, minSize). */
  targetMb: number;
}

/**
 * pg_walrus's shrink: max(ceil(current * factor), min_size).
 *
 * The product is computed in decimal, exactly as the factor was written:
 * in binary floating point 100 * 0.07 is 7.000000000000001, whose ceiling
 * would be 8 where the rule means 7. The factor (0.01 .. 0.99) always prints
 * as "0.<digits>", its shortest round-trip form, i.e. what was configured.
 */
export function shrinkTarget(currentMb: number, factor: number, minSizeMb: number): ShrinkTarget {
  const calculatedMb = ceilTimes(currentMb, factor);
  return { calculatedMb, targetMb: Math.max(calculatedMb, minSizeMb) };
}

function ceilTimes(n: number, factor: number): number {
  const digits = /^0\.(\d+)$/.exec(String(factor))?.[1];
  if (digits === undefined || !Number.isSafeInteger(n)) return Math.ceil(n * factor);
  const numerator = BigInt(n) * BigInt(digits);
  const denominator = 10n ** BigInt(digits.length);
  return Number((numerator + denominator - 1n) / denominator);
}
