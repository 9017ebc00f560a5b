/**
 * Where an object lives, as `locate` answers (docs/RESHARDING.md §4): its shard under the count in force and, during a
 * transition, under both counts and which of the two serves it now (the high shard once its key exists, else the low).
 */
import { type ObjectIdFormat, parseObjectId } from '../sharding/objectId.js';
import { pairLowCount, placeInLayout } from '../sharding/layout.js';
import { placeInSnapshot } from '../snapshot/layout.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/** The object's shard under each count of a transition. */
export interface LocateTransition {
  readonly kind: 'split' | 'merge';
  readonly state: 'running' | 'aborting';
  readonly from: number;
  readonly to: number;
  readonly shardFrom: number;
  readonly shardTo: number;
  /** Which count's shard serves now; `both` when the two are one shard (the object stays in its pair's low shard). */
  readonly serving: 'from' | 'to' | 'both';
}

export interface LocateAnswer {
  readonly objectId: string;
  readonly format: ObjectIdFormat;
  /** The count in force (the record's, else the configured one). */
  readonly count: number;
  /** The shard serving the object now (null for fixed-node IDs). */
  readonly shard: number | null;
  /** Fixed-node IDs: the node named. */
  readonly node: string | null;
  readonly transition: LocateTransition | null;
}

/** Throws InvalidObjectIdError (exit 2) when the ID is invalid under the layout (a fixed shard beyond its counts). */
export function locateObject(snapshot: ClusterSnapshot, objectId: string): LocateAnswer {
  const placement = placeInSnapshot(snapshot, objectId);
  const format = parseObjectId(objectId).format;
  const base = { objectId, format, count: snapshot.layout.count };
  if (placement.kind === 'node') return { ...base, shard: null, node: placement.node, transition: null };
  const shard = placement.shardId;
  const t = snapshot.layout.transition;
  const n = pairLowCount(snapshot.layout);
  if (t === null || n === null) return { ...base, shard, node: null, transition: null };
  // Its shard under the larger count: where the layout rule places it once every high shard exists.
  const placedHigh = placeInLayout(objectId, snapshot.layout, () => true);
  const high = placedHigh.kind === 'shard' ? placedHigh.shardId : shard;
  const low = high % n;
  const [shardFrom, shardTo] = t.kind === 'split' ? [low, high] : [high, low];
  const serving = low === high ? 'both' : shard === shardFrom ? 'from' : 'to';
  return { ...base, shard, node: null, transition: { kind: t.kind, state: t.state, from: t.from, to: t.to, shardFrom, shardTo, serving } };
}
