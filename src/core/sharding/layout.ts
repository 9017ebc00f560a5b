/**
 * Which shard serves an object while the shard count may be changing (docs/RESHARDING.md §4). With N a power of two,
 * `h mod 2N` is `h mod N` or `(h mod N) + N`: doubling sends the objects of shard s to s or s + N (a pair), halving
 * merges s + N back into s. During a transition the existence of the high shard's key is the per-pair switch.
 */
import { InvalidObjectIdError } from '../errors.js';
import { fnv1a32 } from './hash.js';
import { type ObjectPlacement, parseObjectId } from './objectId.js';

/** The counts that decide routing: the count in force, and the transition's counts while one runs. */
export interface CountLayout {
  readonly count: number;
  readonly transition: { readonly from: number; readonly to: number } | null;
}

/** How many shard IDs are valid now: the count in force, or the larger count during a transition. */
export function slotCount(layout: CountLayout): number {
  const t = layout.transition;
  return t === null ? layout.count : Math.max(t.from, t.to);
}

/** N of the pairs (s, s + N) during a transition, else null. */
export function pairLowCount(layout: CountLayout): number | null {
  const t = layout.transition;
  return t === null ? null : Math.min(t.from, t.to);
}

/**
 * The shard serving shard number `high` of the larger count: itself outside a transition; during one, itself when it
 * is a high shard whose key exists, else its low shard. `exists(id)` says whether `<prefix>/shard/<id>` exists.
 */
export function servingShard(layout: CountLayout, high: number, exists: (id: number) => boolean): number {
  const n = pairLowCount(layout);
  if (n === null || high < n) return high;
  return exists(high) ? high : high - n;
}

/**
 * Where a valid object lives under `layout`: fixed-node IDs on their node, fixed-shard IDs `shard#n/x` in shard n's
 * pair (valid while n is below the slot count), other IDs by FNV-1a. Throws InvalidObjectIdError as routing does.
 */
export function placeInLayout(id: string, layout: CountLayout, exists: (id: number) => boolean): ObjectPlacement {
  const parsed = parseObjectId(id);
  if (parsed.format === 'fixed-node') return { kind: 'node', node: parsed.node };
  const slots = slotCount(layout);
  if (parsed.format === 'fixed-shard') {
    if (parsed.shardId < 0 || parsed.shardId >= slots) {
      throw new InvalidObjectIdError(id, `shard ${parsed.shardId} is out of range [0, ${slots})`);
    }
    return { kind: 'shard', shardId: servingShard(layout, parsed.shardId, exists) };
  }
  return { kind: 'shard', shardId: servingShard(layout, fnv1a32(id) % slots, exists) };
}

/**
 * The half of pair (s, s + lowCount) an object of shard s or s + lowCount belongs to once the pair is split: `high`
 * when its shard under 2 * lowCount is the high one. For IDs that place on a shard only (not fixed-node).
 */
export function pairHalf(id: string, lowCount: number): 'low' | 'high' {
  const parsed = parseObjectId(id);
  const high = parsed.format === 'fixed-shard' ? parsed.shardId : fnv1a32(id) % (2 * lowCount);
  return high >= lowCount ? 'high' : 'low';
}
