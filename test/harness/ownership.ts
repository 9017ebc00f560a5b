/** Waiting on shard ownership in etcd, for any cluster the harness starts (goverse-node, upstream, or both). */
import { shardInLayout } from '../../src/core/snapshot/layout.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import { waitFor } from './waitFor.js';

/** Waits until every shard has Target == Current == one of `expected` addresses; returns that snapshot. */
export function waitOwned(
  read: () => Promise<ClusterSnapshot>,
  expected: ReadonlySet<string>,
  options: { timeoutMs?: number } = {},
): Promise<ClusterSnapshot> {
  let last: ClusterSnapshot | null = null;
  return waitFor(
    `every shard owned by one of ${[...expected].join(', ')}`,
    async () => {
      const snap = (last = await read());
      for (let i = 0; i < snap.numShards; i++) {
        const e = snap.shards[i];
        // A high shard whose pair is not split (a shard-count transition runs) has no key by design.
        if (e === undefined && !shardInLayout(snap, i)) continue;
        if (e === undefined || e.target !== e.current || !expected.has(e.current)) return null;
      }
      return snap;
    },
    { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 50, describe: () => describeShards(last) },
  );
}

/** Shards owned (CurrentNode) per node address. */
export function owners(snap: ClusterSnapshot): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of snap.shards) if (e !== undefined && e.current !== '') counts.set(e.current, (counts.get(e.current) ?? 0) + 1);
  return counts;
}

/** The shard values and how many shards hold each, for timeout messages. */
export function describeShards(snap: ClusterSnapshot | null): string {
  if (snap === null) return 'no snapshot read yet';
  const values = new Map<string, number>();
  for (let i = 0; i < snap.numShards; i++) {
    const raw = snap.shards[i]?.raw ?? '(absent)';
    values.set(raw, (values.get(raw) ?? 0) + 1);
  }
  return [...values].map(([v, n]) => `${n}× ${v}`).join('; ');
}
