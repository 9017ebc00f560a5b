import { InvalidArgumentError } from '../errors.js';

/**
 * Where a shard stands, one state per shard (most urgent first when several apply):
 * - `no-target`: no key, or an empty TargetNode;
 * - `orphaned`: it names a node that is not alive (a dead target, or a dead CurrentNode);
 * - `unclaimed`: its alive target has not claimed it yet (CurrentNode empty);
 * - `migrating`: owned by one alive node, targeted at another;
 * - `stable`: owned by its alive target;
 * - `absent`: during a shard-count transition, a high shard whose key does not exist (its pair is not split yet, or
 *   merged already): not part of the layout, its objects are served by its low shard (docs/RESHARDING.md §4).
 * Pinned and stuck are flags on top (SHARD_FLAG), not states.
 */
export const SHARD_STATES = ['stable', 'migrating', 'unclaimed', 'no-target', 'orphaned', 'absent'] as const;
export type ShardState = (typeof SHARD_STATES)[number];

/** Index of each state in SHARD_STATES: the value stored per shard in `ShardColumns.state`. */
export const SHARD_STATE_INDEX: Readonly<Record<ShardState, number>> = {
  stable: 0,
  migrating: 1,
  unclaimed: 2,
  'no-target': 3,
  orphaned: 4,
  absent: 5,
};

/** Bits of `ShardColumns.flags`. */
export const SHARD_FLAG = {
  pinned: 1,
  /** In migration (TargetNode != CurrentNode) for at least the stuck timeout. */
  stuck: 2,
  /** TargetNode != CurrentNode (unclaimed and orphaned shards included). */
  inMigration: 4,
  /** The value parsed with warnings (extra node parts, empty flags). */
  warnings: 8,
} as const;

/**
 * The state of one shard (an index into SHARD_STATES) from its target and current as node indexes (-1 for empty);
 * `alive[i]` is 1 for registered nodes. Indexes, not addresses, so a rebuild over 8192 shards does no string lookups.
 */
export function classifyShard(target: number, current: number, alive: Uint8Array): number {
  if (target < 0) return SHARD_STATE_INDEX['no-target'];
  if (alive[target] === 0 || (current >= 0 && alive[current] === 0)) return SHARD_STATE_INDEX.orphaned;
  if (current < 0) return SHARD_STATE_INDEX.unclaimed;
  return target === current ? SHARD_STATE_INDEX.stable : SHARD_STATE_INDEX.migrating;
}

/** What `shards --state` and the console's filter accept: a state, or one of the two flags. */
export type ShardFilterState = ShardState | 'pinned' | 'stuck';

const FILTER_STATES: readonly ShardFilterState[] = [...SHARD_STATES, 'pinned', 'stuck'];

/** Parses a comma-separated list of filter states; throws InvalidArgumentError naming the accepted ones. */
export function parseShardFilterStates(text: string): ShardFilterState[] {
  const out: ShardFilterState[] = [];
  for (const raw of text.split(',')) {
    const s = raw.trim();
    if (!(FILTER_STATES as readonly string[]).includes(s)) {
      throw new InvalidArgumentError(`unknown shard state ${JSON.stringify(s)}; expected one of ${FILTER_STATES.join(', ')}`);
    }
    if (!out.includes(s as ShardFilterState)) out.push(s as ShardFilterState);
  }
  return out;
}
