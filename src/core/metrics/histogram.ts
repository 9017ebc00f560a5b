import { parseFloatToken, type Sample } from './textFormat.js';

/** One cumulative bucket: observations less than or equal to `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * Buckets from `_bucket` samples, summed per upper bound across series (PromQL `sum by (le)`), sorted by bound.
 * Samples without a readable `le` are skipped.
 */
export function histogramBuckets(samples: readonly Sample[]): Bucket[] {
  const counts = new Map<number, number>();
  for (const s of samples) {
    const le = Object.hasOwn(s.labels, 'le') ? parseFloatToken(s.labels.le!) : undefined;
    if (le === undefined || Number.isNaN(le)) continue;
    counts.set(le, (counts.get(le) ?? 0) + s.value);
  }
  return [...counts].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile estimated from cumulative buckets, as PromQL's histogram_quantile: linear interpolation inside
 * the bucket where the rank falls, the lower edge of the first bucket taken as 0 (when its bound is positive). A rank
 * in the +Inf bucket gives the highest finite bound. NaN without a +Inf bucket, with fewer than two buckets or
 * without observations; -Inf for q < 0 and +Inf for q > 1.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Scrapes are not atomic, so cumulative counts can dip slightly; treat each as at least the one before.
  const counts: number[] = [];
  for (const b of sorted) counts.push(Math.max(b.count, counts[counts.length - 1] ?? 0));
  const total = counts[counts.length - 1]!;
  if (!(total > 0 && total < Number.POSITIVE_INFINITY)) return Number.NaN;
  const rank = q * total;
  // `c > 0`: for q = 0 the answer is the lower edge of the first bucket holding anything.
  // Always found: rank <= total, and total is the last count.
  const i = counts.findIndex((c) => c > 0 && c >= rank);
  if (i === sorted.length - 1) return sorted[sorted.length - 2]!.le;
  const upper = sorted[i]!.le;
  if (i === 0 && upper <= 0) return upper;
  const lower = i === 0 ? 0 : sorted[i - 1]!.le;
  const below = i === 0 ? 0 : counts[i - 1]!;
  const inBucket = counts[i]! - below;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}
