/**
 * Shard lists as the history stores them (`0-2,5,7-8`, what `formatShardList` writes), read back as ranges without
 * expanding them: an entry about 8,192 shards is one range, and a test for one shard scans a few.
 */

/** Ascending, inclusive [first, last] pairs. */
export type ShardRanges = readonly (readonly [number, number])[];

const PART = /^(0|[1-9]\d{0,9})(?:-(0|[1-9]\d{0,9}))?$/;

/** The ranges of a stored shard list ('' is none), or null when it is not one. Never throws. */
export function parseShardRanges(text: string): ShardRanges | null {
  if (text === '') return [];
  const out: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = PART.exec(part);
    if (m === null) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return null;
    out.push([from, to]);
  }
  return out;
}

/** Shards in the ranges (overlaps counted twice: writers never write them). */
export function rangesCount(ranges: ShardRanges): number {
  let n = 0;
  for (const [a, b] of ranges) n += b - a + 1;
  return n;
}

/** The ranges as a shard list again. */
export function formatShardRanges(ranges: ShardRanges): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
}
