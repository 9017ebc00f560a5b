import { Keyspace } from '../keyspace/keys.js';
import type { MigrationRecord } from '../keyspace/records.js';
import { isPinned, type ShardValue } from '../keyspace/shardValue.js';
import { type ClusterSnapshot, keyRevision } from '../snapshot/snapshot.js';

/**
 * Where a shard in migration (TargetNode != CurrentNode) is held up; also a pinned shard whose target and owner is a
 * node that is gone (pinned-to-dead), which looks settled although nobody serves it.
 */
export type MigrationState =
  /** Target alive, no current owner: the target has not claimed it. */
  | 'target-unclaimed'
  /** The current owner is not alive and the (alive) target has not claimed it. */
  | 'owner-dead'
  /** The current owner is alive and has not released it to the (alive) target. */
  | 'owner-not-releasing'
  /** The target is not alive (and the shard is not pinned). */
  | 'target-dead'
  /** Pinned to a target that is not alive: never repaired automatically, an operator must act. */
  | 'pinned-to-dead'
  /** No target while a current owner is set. */
  | 'no-target';

/** When the leader (or a watcher) first saw a shard migrating to `target`, for shards without a migration record. */
export interface FirstSeen {
  readonly target: string;
  readonly since: number;
  /**
   * Already under way when first seen (a watcher's first read, or a re-read after a gap): `since` only bounds the
   * start from below. The leader sets none: it dates what it finds from its own first sight, on purpose.
   */
  readonly late?: true;
}

/** How old a migration is, and what that rests on. */
export type MigrationAge =
  /** From its migration record for this target (`record`), or from a sighting of its start (`first-seen`). */
  | { readonly ageSource: 'record' | 'first-seen'; readonly since: number; readonly ageMs: number }
  /**
   * No record for this target, and not seen starting: upstream nodes write no records, and a one-shot command or a
   * console that just started finds migrations already under way. `seenForMs` (0 for a single look) is how long this
   * observer has seen it: a lower bound of its age, never the age.
   */
  | { readonly ageSource: 'unknown'; readonly since: null; readonly ageMs: null; readonly seenForMs: number };

export type Migration = {
  readonly shardId: number;
  readonly state: MigrationState;
  readonly target: string;
  readonly current: string;
  readonly pinned: boolean;
} & MigrationAge;

/**
 * Why a migration counts as stuck: `age` (at least the stuck timeout old, or seen that long), or `state` (its age is
 * unknown, but its state is one that nothing in the cluster repairs by itself, so waiting cannot help).
 */
export type StuckBasis = 'age' | 'state';

export type StuckShard = Migration & {
  readonly basis: StuckBasis;
  /** One line for the error log and the console: state, nodes, age and what the age rests on. */
  readonly reason: string;
};

/**
 * States no leader (ours or upstream's) repairs: reassign leaves pinned shards alone, so a shard pinned to a node
 * that is gone stays unserved until an operator acts, however long it has been so.
 */
const NEEDS_AN_OPERATOR: ReadonlySet<MigrationState> = new Set<MigrationState>(['pinned-to-dead']);

/**
 * The state of a shard, or null when it is settled (target == current, both empty included). A pinned shard settled
 * on a node that is gone is not settled: reassign leaves pinned shards alone, so unless it is reported here nothing
 * ever tells an operator that nobody serves it. (Unpinned, reassign gives it a new target once the cluster is stable.)
 */
export function classifyMigration(value: ShardValue, alive: ReadonlySet<string>): MigrationState | null {
  const { target, current } = value;
  if (target === current) return target !== '' && isPinned(value) && !alive.has(target) ? 'pinned-to-dead' : null;
  if (target === '') return 'no-target';
  if (!alive.has(target)) return isPinned(value) ? 'pinned-to-dead' : 'target-dead';
  if (current === '') return 'target-unclaimed';
  return alive.has(current) ? 'owner-not-releasing' : 'owner-dead';
}

/**
 * Every shard in migration with its state and age. The age comes from the shard's migration record when the record
 * belongs to the current target (a record for an earlier target is stale), else from a sighting of its start in
 * `firstSeen`; otherwise it is unknown (see MigrationAge). `candidates`, when given, are the only shards looked at
 * (ascending IDs that include every shard in migration and every pinned shard on a dead target): the console's view
 * knows them from its columns and skips the 8192-shard scan.
 */
export function listMigrations(
  snapshot: ClusterSnapshot,
  firstSeen: ReadonlyMap<number, FirstSeen>,
  now: number,
  candidates?: Iterable<number>,
): Migration[] {
  const alive = new Set(snapshot.nodes.keys());
  const out: Migration[] = [];
  for (const id of candidates ?? snapshot.shards.keys()) {
    const entry = snapshot.shards[id];
    if (entry === undefined) continue;
    const state = classifyMigration(entry, alive);
    if (state === null) continue;
    out.push({
      shardId: entry.id,
      state,
      target: entry.target,
      current: entry.current,
      pinned: isPinned(entry),
      ...migrationAge(migrationStart(snapshot, firstSeen, entry.id, entry.target), now),
    });
  }
  return out;
}

/** Migrations at least `timeoutMs` old, or stuck whatever their age (see stuckAmong), each with a one-line reason. */
export function findStuck(
  snapshot: ClusterSnapshot,
  firstSeen: ReadonlyMap<number, FirstSeen>,
  now: number,
  timeoutMs: number,
): StuckShard[] {
  return stuckAmong(listMigrations(snapshot, firstSeen, now), timeoutMs);
}

/**
 * The migrations of a `listMigrations` result that are stuck, for callers that need both lists from one scan: those
 * at least `timeoutMs` old; of those whose age is unknown, those seen for at least `timeoutMs` and those in a state
 * nothing repairs (NEEDS_AN_OPERATOR). A migration of unknown age in any other state is not called stuck: nothing
 * says it has lasted.
 */
export function stuckAmong(migrations: readonly Migration[], timeoutMs: number): StuckShard[] {
  const out: StuckShard[] = [];
  for (const m of migrations) {
    const verdict = stuckVerdict(m, timeoutMs);
    if (verdict !== null) out.push({ ...m, basis: verdict.basis, reason: stuckReason(m, verdict) });
  }
  return out;
}

/** Whether a migration is stuck (see stuckAmong): on what basis, and its age in words; null when it is not. */
export interface StuckVerdict {
  readonly basis: StuckBasis;
  readonly ageText: string;
}

export function stuckVerdict(m: Migration, timeoutMs: number): StuckVerdict | null {
  const basis = basisOf(m.state, m.ageMs, m.ageSource === 'unknown' ? m.seenForMs : 0, timeoutMs);
  if (basis === null) return null;
  if (m.ageSource !== 'unknown') return { basis, ageText: `for ${formatAge(m.ageMs)}` };
  return basis === 'age'
    ? { basis, ageText: `for at least ${formatAge(m.seenForMs)} (start unknown: no migration record)` }
    : { basis, ageText: '(for an unknown time: no migration record)' };
}

/** stuckVerdict's basis for a migration known by its state and start, at `now`: no migration built, no words. */
export function stuckBasis(state: MigrationState, start: MigrationStart, now: number, timeoutMs: number): StuckBasis | null {
  return start.ageSource === 'unknown'
    ? basisOf(state, null, start.seenSince === null ? 0 : Math.max(0, now - start.seenSince), timeoutMs)
    : basisOf(state, Math.max(0, now - start.since), 0, timeoutMs);
}

/** The rule: a known age of at least the timeout; else seen that long; else a state nothing repairs. */
function basisOf(state: MigrationState, ageMs: number | null, seenForMs: number, timeoutMs: number): StuckBasis | null {
  if (ageMs !== null) return ageMs >= timeoutMs ? 'age' : null;
  if (seenForMs >= timeoutMs) return 'age';
  return NEEDS_AN_OPERATOR.has(state) ? 'state' : null;
}

/** The one-line reason of a stuck migration: shard, state, nodes, age. */
export function stuckReason(m: Migration, verdict: StuckVerdict): string {
  return `shard ${m.shardId} ${describeState(m)} ${verdict.ageText}`;
}

function describeState(m: Migration): string {
  switch (m.state) {
    case 'target-unclaimed':
      return `is not claimed by its alive target ${m.target}`;
    case 'owner-dead':
      return `is not claimed by ${m.target}; its owner ${m.current} is not alive`;
    case 'owner-not-releasing':
      return `is not released by its alive owner ${m.current} to ${m.target}`;
    case 'target-dead':
      return `targets ${m.target}, which is not alive (owner ${m.current || 'none'})`;
    case 'pinned-to-dead':
      return `is pinned to ${m.target}, which is not alive (owner ${m.current || 'none'}); unpin or retarget it by hand`;
    case 'no-target':
      return `has no target (owner ${m.current})`;
  }
}

export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/**
 * The first-seen map for the next pass: entries kept while the shard still migrates to the same target. `late`: the
 * migrations not seen before were already under way (a watcher's first read, or one after a gap).
 */
export function trackFirstSeen(
  previous: ReadonlyMap<number, FirstSeen>,
  snapshot: ClusterSnapshot,
  now: number,
  late = false,
): Map<number, FirstSeen> {
  const alive = new Set(snapshot.nodes.keys());
  const next = new Map<number, FirstSeen>();
  for (const entry of snapshot.shards) {
    if (entry === undefined || classifyMigration(entry, alive) === null) continue;
    next.set(entry.id, sighting(previous.get(entry.id), entry.target, now, late));
  }
  return next;
}

/** The first sighting of a migration to `target`: the previous one while it was to the same target, else now. */
export function sighting(previous: FirstSeen | undefined, target: string, now: number, late = false): FirstSeen {
  if (previous !== undefined && previous.target === target) return previous;
  return late ? { target, since: now, late } : { target, since: now };
}

/** Record keys the leader keeps tidy, each with the ModRevision to compare (0: must be absent). */
export interface RecordRepairs {
  /** Migrations without a record for their current target: the record to write. */
  readonly backfill: readonly RecordPut[];
  /** Records of migrations in flight under another writer's lease: re-put under the leader's, as they are. */
  readonly adopt: readonly RecordPut[];
  /** Migration records of shards no longer in migration. */
  readonly obsoleteMigrations: readonly { readonly shardId: number; readonly modRevision: number }[];
  /** Release requests for shards no longer in migration or addressed to an earlier owner. */
  readonly obsoleteReleaseRequests: readonly { readonly shardId: number; readonly modRevision: number }[];
}

export interface RecordPut {
  readonly shardId: number;
  readonly expectedModRevision: number;
  readonly record: MigrationRecord;
}

/** The leader's record lease, and how long it watches a migration before adopting its record. */
export interface RecordLeaseRule {
  /** The lease its records are under now; null before it has one (then every record is someone else's). */
  readonly own: string | null;
  /** migrationRecordAdoptAfterMs of its stuck timeout. */
  readonly adoptAfterMs: number;
}

export function recordRepairs(
  snapshot: ClusterSnapshot,
  firstSeen: ReadonlyMap<number, FirstSeen>,
  now: number,
  lease: RecordLeaseRule,
): RecordRepairs {
  const alive = new Set(snapshot.nodes.keys());
  const inMigration = (id: number): boolean => {
    const e = snapshot.shards[id];
    return e !== undefined && classifyMigration(e, alive) !== null;
  };
  const backfill: RecordPut[] = [];
  const adopt: RecordPut[] = [];
  const keys = new Keyspace(snapshot.prefix);
  for (const entry of snapshot.shards) {
    if (entry === undefined || !inMigration(entry.id)) continue;
    const existing = snapshot.migrations.get(entry.id);
    const seen = firstSeen.get(entry.id);
    const seenSince = seen?.target === entry.target ? seen.since : now;
    if (existing?.target === entry.target) {
      // Someone else's lease runs out by itself (after its writer's stuck timeout, or its last renewal): kept as it
      // is under the leader's own, the record lasts as long as the migration.
      if (existing.lease !== lease.own && now - seenSince >= lease.adoptAfterMs) {
        const { since, target, from } = existing;
        adopt.push({ shardId: entry.id, expectedModRevision: existing.modRevision, record: { since, target, from } });
      }
      continue;
    }
    // Dated from its first sighting; the leader's sightings are never late, and a migration it has not seen yet starts now.
    backfill.push({
      shardId: entry.id,
      expectedModRevision: keyRevision(snapshot, existing, keys.migration(entry.id)),
      record: { since: seenSince, target: entry.target, from: entry.current },
    });
  }
  const obsoleteMigrations = [...snapshot.migrations]
    .filter(([id]) => !inMigration(id))
    .map(([shardId, r]) => ({ shardId, modRevision: r.modRevision }));
  const obsoleteReleaseRequests = [...snapshot.releaseRequests]
    .filter(([id, r]) => !inMigration(id) || snapshot.shards[id]?.current !== r.owner)
    .map(([shardId, r]) => ({ shardId, modRevision: r.modRevision }));
  return { backfill, adopt, obsoleteMigrations, obsoleteReleaseRequests };
}

/** What a migration's age rests on, before a clock makes it an age (see MigrationAge). */
export type MigrationStart =
  | { readonly ageSource: 'record' | 'first-seen'; readonly since: number }
  /** `seenSince`: when this observer first saw it, already under way; null when it has not seen it before. */
  | { readonly ageSource: 'unknown'; readonly seenSince: number | null };

/** A shard's migration to `target`: its record for that target, else a sighting of its start, else unknown. */
export function migrationStart(snapshot: ClusterSnapshot, firstSeen: ReadonlyMap<number, FirstSeen>, shardId: number, target: string): MigrationStart {
  const record = snapshot.migrations.get(shardId);
  if (record !== undefined && record.target === target) return { ageSource: 'record', since: record.since };
  const seen = firstSeen.get(shardId);
  if (seen === undefined || seen.target !== target) return { ageSource: 'unknown', seenSince: null };
  return seen.late ? { ageSource: 'unknown', seenSince: seen.since } : { ageSource: 'first-seen', since: seen.since };
}

export function migrationAge(start: MigrationStart, now: number): MigrationAge {
  if (start.ageSource !== 'unknown') return { ageSource: start.ageSource, since: start.since, ageMs: Math.max(0, now - start.since) };
  return { ageSource: 'unknown', since: null, ageMs: null, seenForMs: start.seenSince === null ? 0 : Math.max(0, now - start.seenSince) };
}
