/**
 * The view's unsettled shards, oldest first, kept from one rebuild to the next: a shard's migration (state, target,
 * start) is worked out again only when its entry, its migration record or its first sighting may have changed, and
 * the sorted order is kept by insertion, so a rebuild costs the changed shards plus one object per migration for its
 * age. Same results as `listMigrations` sorted oldest first, and `stuckAmong`.
 */
import { isPinned } from '../keyspace/shardValue.js';
import { classifyMigration, type FirstSeen, formatAge, type Migration, migrationStart, type StuckShard, stuckReason } from '../planner/stuck.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/** A migration without its age, and what it was worked out from. */
interface Base extends Omit<Migration, 'ageMs'> {
  readonly entry: unknown;
  readonly record: unknown;
}

export class MigrationList {
  private readonly bases = new Map<number, Base>();
  /** By start, then shard ID. */
  private readonly sorted: Base[] = [];
  /** Shards whose start is "now" (no record, no sighting): their age is 0 at every rebuild. */
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
    for (const id of changed) this.refresh(snapshot, id, now);
    if (!recordsListed && snapshot.migrations !== this.migrations) {
      for (const [id, base] of this.bases) if (snapshot.migrations.get(id) !== base.record) this.refresh(snapshot, id, now);
    }
    this.migrations = snapshot.migrations;
    for (const id of [...this.undated]) this.refresh(snapshot, id, now);
    return true;
  }

  /** Every migration with its age at `now` (that of the last update), oldest first; undated ones start now. */
  list(now: number): Migration[] {
    return this.sorted.map((b) => ({
      shardId: b.shardId,
      state: b.state,
      target: b.target,
      current: b.current,
      pinned: b.pinned,
      since: b.ageSource === 'now' ? now : b.since,
      ageMs: b.ageSource === 'now' ? 0 : Math.max(0, now - b.since),
      ageSource: b.ageSource,
    }));
  }

  /** The migrations at least `timeoutMs` old (a prefix of the list, oldest first), each with its reason. */
  stuck(migrations: readonly Migration[], timeoutMs: number): StuckShard[] {
    const out: StuckShard[] = [];
    for (let i = 0; i < migrations.length; i++) {
      const m = migrations[i]!;
      if (m.ageMs < timeoutMs) break;
      const base = this.sorted[i]!;
      const age = formatAge(m.ageMs);
      let held = this.reasons.get(base);
      if (held?.age !== age) this.reasons.set(base, (held = { age, reason: stuckReason(m) }));
      out.push({ ...m, reason: held.reason });
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
    const { since, source } = migrationStart(snapshot, this.firstSeen, id, entry.target, now);
    const base: Base = { shardId: id, state, target: entry.target, current: entry.current, pinned: isPinned(entry), since, ageSource: source, entry, record };
    this.bases.set(id, base);
    this.sorted.splice(this.indexOf(base), 0, base);
    if (source === 'now') this.undated.add(id);
  }

  /** Where `base` is, or goes, in the sorted list. */
  private indexOf(base: Base): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.sorted[mid]!;
      if (m.since < base.since || (m.since === base.since && m.shardId < base.shardId)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
