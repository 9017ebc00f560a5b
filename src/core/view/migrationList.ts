/**
 * The view's unsettled shards, in the view's order, kept from one rebuild to the next: a shard's migration (state,
 * target, start) is worked out again only when its entry, its migration record or its first sighting may have
 * changed, and the sorted order is kept by insertion, so a rebuild costs the changed shards plus one object per
 * migration for its age. Same results as `listMigrations` in that order, and `stuckAmong`.
 *
 * The order: migrations of unknown start first (they may be the oldest), the longest seen first, then the others by
 * start; shard ID breaks ties. Both orders are by a time that does not move (a start, or when a migration was first
 * seen already under way), except for migrations never seen before, whose "seen since" is now: those are placed
 * again at each update.
 */
import { isPinned } from '../keyspace/shardValue.js';
import {
  classifyMigration,
  type FirstSeen,
  type Migration,
  migrationAge,
  type MigrationStart,
  migrationStart,
  type StuckShard,
  stuckBasis,
  stuckReason,
  stuckVerdict,
} from '../planner/stuck.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/** A migration without its age, and what it was worked out from. */
interface Base {
  readonly shardId: number;
  readonly state: Migration['state'];
  readonly target: string;
  readonly current: string;
  readonly pinned: boolean;
  readonly start: MigrationStart;
  /** 0 for an unknown start, 1 for a known one: unknown ones sort first. */
  readonly group: 0 | 1;
  /** The time it sorts by within its group. */
  readonly key: number;
  /** The migration record it was worked out from (compared by identity to notice a changed record). */
  readonly record: unknown;
}

export class MigrationList {
  /** Updates so far: a view reads the list only while it is as the view left it (MigrationReading). */
  version = 0;
  private readonly bases = new Map<number, Base>();
  /** In the view's order (this module's comment). */
  private readonly sorted: Base[] = [];
  /** Shards never seen before: their "seen since" is the time of each update. */
  private readonly undated = new Set<number>();
  /** The stuck reason of a migration for the age text it was made with (ages show in whole seconds or minutes). */
  private readonly reasons = new WeakMap<Base, { readonly age: string; readonly reason: string }>();

  /** `candidates`: every shard that may be unsettled (in migration, or pinned to a node that is not alive). */
  constructor(
    private readonly alive: ReadonlySet<string>,
    private readonly firstSeen: ReadonlyMap<number, FirstSeen>,
    private migrations: ClusterSnapshot['migrations'],
    snapshot: ClusterSnapshot,
    now: number,
    candidates: Iterable<number>,
  ) {
    for (const id of candidates) this.refresh(snapshot, id, now);
  }

  /**
   * Brought up to date with `snapshot` (same alive set as before): the shards in `changed` (their entry or sighting
   * may have changed; their record too when `recordsListed`, else every migration's record is compared), and the
   * undated ones. False when the first sightings were replaced (a re-list): the caller builds a new list.
   */
  update(snapshot: ClusterSnapshot, firstSeen: ReadonlyMap<number, FirstSeen>, now: number, changed: Iterable<number>, recordsListed: boolean): boolean {
    if (firstSeen !== this.firstSeen) return false;
    this.version++;
    for (const id of changed) this.refresh(snapshot, id, now);
    if (!recordsListed && snapshot.migrations !== this.migrations) {
      for (const [id, base] of this.bases) if (snapshot.migrations.get(id) !== base.record) this.refresh(snapshot, id, now);
    }
    this.migrations = snapshot.migrations;
    for (const id of [...this.undated]) this.refresh(snapshot, id, now);
    return true;
  }

  /** Every migration with its age at `now` (that of the last update), in the view's order. */
  list(now: number): Migration[] {
    return this.sorted.map((b) => migrationOf(b, now));
  }

  /** One shard's migration at `now`; undefined when it is settled. */
  migration(id: number, now: number): Migration | undefined {
    const base = this.bases.get(id);
    return base === undefined ? undefined : migrationOf(base, now);
  }

  /** The shards stuck at `now`, in the list's order: what the view counts and flags at every rebuild, cheaply. */
  stuckIds(now: number, timeoutMs: number): number[] {
    const out: number[] = [];
    for (const b of this.sorted) if (stuckBasis(b.state, b.start, now, timeoutMs) !== null) out.push(b.shardId);
    return out;
  }

  /** The stuck migrations of `migrations` (this list's, in its order), each with its reason. */
  stuck(migrations: readonly Migration[], timeoutMs: number): StuckShard[] {
    const out: StuckShard[] = [];
    for (let i = 0; i < migrations.length; i++) {
      const m = migrations[i]!;
      const verdict = stuckVerdict(m, timeoutMs);
      if (verdict === null) continue;
      const base = this.sorted[i]!;
      let held = this.reasons.get(base);
      if (held?.age !== verdict.ageText) this.reasons.set(base, (held = { age: verdict.ageText, reason: stuckReason(m, verdict) }));
      out.push({ ...m, basis: verdict.basis, reason: held.reason });
    }
    return out;
  }

  private refresh(snapshot: ClusterSnapshot, id: number, now: number): void {
    const entry = snapshot.shards[id];
    const record = snapshot.migrations.get(id);
    const old = this.bases.get(id);
    if (old !== undefined) {
      this.sorted.splice(this.indexOf(old), 1);
      this.bases.delete(id);
      this.undated.delete(id);
    }
    const state = entry === undefined ? null : classifyMigration(entry, this.alive);
    if (entry === undefined || state === null) return;
    const start = migrationStart(snapshot, this.firstSeen, id, entry.target);
    const unknown = start.ageSource === 'unknown';
    const key = unknown ? (start.seenSince ?? now) : start.since;
    const base: Base = { shardId: id, state, target: entry.target, current: entry.current, pinned: isPinned(entry), start, group: unknown ? 0 : 1, key, record };
    this.bases.set(id, base);
    this.sorted.splice(this.indexOf(base), 0, base);
    if (unknown && start.seenSince === null) this.undated.add(id);
  }

  /** Where `base` is, or goes, in the sorted list. */
  private indexOf(base: Base): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.sorted[mid]!;
      if (m.group < base.group || (m.group === base.group && (m.key < base.key || (m.key === base.key && m.shardId < base.shardId)))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function migrationOf(b: Base, now: number): Migration {
  return { shardId: b.shardId, state: b.state, target: b.target, current: b.current, pinned: b.pinned, ...migrationAge(b.start, now) };
}

/**
 * A view's reading of the list at the view's time: its migrations and stuck shards, worked out when first read (a
 * frame that does not show them does not pay for them). The list moves on with the next rebuild, which consumes
 * the view: reading what was not read before then is a mistake, and throws.
 */
export class MigrationReading {
  private readonly version: number;
  private all: readonly Migration[] | undefined;
  private stuckShards: readonly StuckShard[] | undefined;
  private byId: ReadonlyMap<number, Migration> | undefined;
  private stuckById: ReadonlyMap<number, StuckShard> | undefined;

  constructor(
    private readonly list: MigrationList,
    private readonly now: number,
    private readonly timeoutMs: number,
  ) {
    this.version = list.version;
  }

  migrations(): readonly Migration[] {
    return (this.all ??= this.current().list(this.now));
  }

  stuck(): readonly StuckShard[] {
    return (this.stuckShards ??= this.current().stuck(this.migrations(), this.timeoutMs));
  }

  /** One shard's migration, without the others'. */
  migration(id: number): Migration | undefined {
    if (this.all === undefined) return this.current().migration(id, this.now);
    return (this.byId ??= new Map(this.all.map((m) => [m.shardId, m]))).get(id);
  }

  /** One shard, when stuck, with its reason. */
  stuckShard(id: number): StuckShard | undefined {
    if (this.stuckShards !== undefined) return (this.stuckById ??= new Map(this.stuckShards.map((s) => [s.shardId, s]))).get(id);
    const m = this.current().migration(id, this.now);
    const verdict = m === undefined ? null : stuckVerdict(m, this.timeoutMs);
    return verdict === null ? undefined : { ...m!, basis: verdict.basis, reason: stuckReason(m!, verdict) };
  }

  private current(): MigrationList {
    if (this.list.version !== this.version) throw new Error('a view was read after a later view took its migrations over');
    return this.list;
  }
}
