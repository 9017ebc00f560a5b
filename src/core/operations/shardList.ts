import { InvalidArgumentError } from '../errors.js';

const MAX_LIST = 1_000_000;

/**
 * Parses an operator's shard list: `5`, `1,5,10-20`, `all`. IDs must lie in [0, numShards); ranges ascend.
 * Returns sorted, de-duplicated IDs; any bad part is an InvalidArgumentError that quotes it.
 */
export function parseShardList(text: string, numShards: number): number[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidArgumentError('shard list is empty; expected IDs such as 5 or 1,5,10-20');
  if (trimmed === 'all') return Array.from({ length: numShards }, (_, i) => i);
  const ids = new Set<number>();
  for (const rawPart of trimmed.split(',')) {
    const part = rawPart.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new InvalidArgumentError(`bad shard ID or range ${JSON.stringify(part)}; expected IDs such as 5 or 10-20`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new InvalidArgumentError(`bad shard range ${JSON.stringify(part)}: the end is below the start`);
    for (const id of [from, to]) {
      if (!Number.isSafeInteger(id) || id >= numShards) {
        throw new InvalidArgumentError(`shard ${m[2] === undefined ? part : id} is out of range [0, ${numShards})`);
      }
    }
    if (to - from + ids.size > MAX_LIST) throw new InvalidArgumentError(`shard list ${JSON.stringify(part)} is too long`);
    for (let id = from; id <= to; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** IDs as the shortest list `parseShardList` reads back: runs as ranges (`0-2,5,7-8`). */
export function formatShardList(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
