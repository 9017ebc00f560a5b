/**
 * What an observer of the cluster remembers between snapshots: the stability clock and the first sightings of
 * migrations. One rule for the leader (StabilityClock), the console (a watch) and `goverse-top watch` (polls), so all
 * three date stability and migrations alike.
 *
 * The stability clock is upstream's IsStateStable minus its defects (docs/UPSTREAM.md §5, §13.6-8): it restarts only
 * when the set of alive nodes changes. Gate churn, leader changes and re-puts of an already known node leave it alone,
 * and every process (the new leader included) applies the same rule to the same watch events.
 */
import type { ClusterChange, ClusterSnapshot, ShardEntry } from '../snapshot/snapshot.js';
import { type FirstSeen, sighting, trackFirstSeen } from './stuck.js';

/** Whether a watch change restarts the stability clock: a node joined or left. */
function changesMembership(change: ClusterChange): boolean {
  return change.kind === 'node-joined' || change.kind === 'node-left';
}

/** The same rule for two reads taken apart (a poller sees no events): the sets of alive nodes differ. */
function membersDiffer(before: ClusterSnapshot, after: ClusterSnapshot): boolean {
  if (before.nodes.size !== after.nodes.size) return true;
  for (const address of after.nodes.keys()) if (!before.nodes.has(address)) return true;
  return false;
}

/** The leader's stability clock: a member that just started has not seen the membership settle yet. */
export class StabilityClock {
  private changedAt: number;

  constructor(startedAt: number) {
    // As upstream's initial load: a fresh process waits a whole stability period.
    this.changedAt = startedAt;
  }

  observe(changes: readonly ClusterChange[], now: number): void {
    if (changes.some(changesMembership)) this.changedAt = now;
  }

  /** Monotonic time of the last membership change. */
  get since(): number {
    return this.changedAt;
  }
}

/**
 * A watcher's memory for its views (the console, `watch`): when the alive set last changed, unknown until a change is
 * seen (the view then takes the cluster as stable, as one-shot commands do), and the first sightings of migrations
 * without a record (their age). Fed either by watch batches (`restart` on a full list, then `observe`) or by polls.
 */
export class Sightings {
  private changedAt: number | undefined = undefined;
  private seen: Map<number, FirstSeen> = new Map();
  /** The previous poll's read; null before the first. */
  private polled: ClusterSnapshot | null = null;

  /** When the set of alive nodes last changed; undefined while no change has been seen. */
  get stableSince(): number | undefined {
    return this.changedAt;
  }

  get firstSeen(): ReadonlyMap<number, FirstSeen> {
    return this.seen;
  }

  /**
   * A watcher's full list (the first, or a re-list after a gap): a pass over every shard. Sightings of migrations
   * still to the same target are kept; the others were already under way, so their start is unknown (late).
   */
  restart(snapshot: ClusterSnapshot, now: number): void {
    this.seen = trackFirstSeen(this.seen, snapshot, now, true);
  }

  /**
   * A watch batch: only the changed shards are looked at, because a pass over 8192 shards per batch would dominate a
   * storm of events. A shard counts as migrating here while TargetNode != CurrentNode: a pinned shard settled on a
   * node that died (which a full pass tracks) changes no shard, so its age comes from its migration record (the
   * leader backfills one) or counts from now.
   */
  observe(changes: readonly ClusterChange[], now: number): void {
    for (const change of changes) {
      if (change.kind === 'shard') this.observeShard(change.id, change.after, now);
      else if (changesMembership(change)) this.changedAt = now;
    }
  }

  /**
   * A poll (`watch`): a full pass over the shards, and the alive set compared with the previous poll's. What the
   * first poll finds was already under way (late); later polls date new migrations within one interval.
   */
  poll(snapshot: ClusterSnapshot, now: number): void {
    this.seen = trackFirstSeen(this.seen, snapshot, now, this.polled === null);
    if (this.polled !== null && membersDiffer(this.polled, snapshot)) this.changedAt = now;
    this.polled = snapshot;
  }

  private observeShard(id: number, entry: ShardEntry | undefined, now: number): void {
    if (entry === undefined || entry.target === entry.current) this.seen.delete(id);
    else this.seen.set(id, sighting(this.seen.get(id), entry.target, now));
  }
}
