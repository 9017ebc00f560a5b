/**
 * The operator's side of a shard-count change (docs/RESHARDING.md §5.1, §6): the checks before a transition starts,
 * its preview (pairs, shards and objects that move, shards a merge moves between nodes, fixed-shard IDs it makes
 * invalid), and the record write that starts it or turns it into an abort. One transition doubles or halves; a
 * larger factor is reached by starting the next one after each completes (`reshardSteps`).
 */
import { InvalidArgumentError, PreconditionError } from '../errors.js';
import { Keyspace } from '../keyspace/keys.js';
import type { LoadRecord } from '../keyspace/records.js';
import { encodeShardCount, isShardCount, type ReshardKind, type ShardCountRecord, shardCountProblem } from '../keyspace/shardCount.js';
import { isPinned } from '../keyspace/shardValue.js';
import { followsShardCount, plannerContext } from '../planner/context.js';
import { shardInLayout } from '../snapshot/layout.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import type { OperationPlan, PlannedRecordChange } from './operations.js';

/** What the next transition towards `target` does. */
export interface ReshardPreview {
  readonly kind: ReshardKind;
  readonly from: number;
  readonly to: number;
  /** The count asked for, and how many transitions reach it (this one included). */
  readonly target: number;
  readonly steps: number;
  /** Pairs (s, s + N): also the shards a split creates or a merge removes. */
  readonly pairs: number;
  /**
   * Objects whose shard changes, from the nodes' load reports: a split moves about half of each low shard's objects
   * (hash bits are uniform; which ones is known only from their IDs), a merge every object of the high shards. Null
   * without load reports.
   */
  readonly objectsMoving: number | null;
  /** A merge: shards that move to the other node of their pair first (ordinary migrations). */
  readonly colocations: number;
  /** A merge: fixed-shard IDs `shard#<n>/...` with n in [from, to) become invalid (400) afterwards. */
  readonly invalidFixedShards: { readonly from: number; readonly to: number } | null;
}

/** Transitions from `count` to `target` (doubling or halving each). Throws PreconditionError for an unreachable one. */
export function reshardSteps(count: number, target: number): number {
  const problem = shardCountProblem(target);
  if (problem !== null) throw new PreconditionError(`cannot reshard to ${target}: ${problem}`);
  if (!isShardCount(count)) throw new PreconditionError(`the cluster's count ${count} is not a power of two: it cannot be resharded`);
  if (target === count) throw new PreconditionError(`the cluster already has ${count} shards`);
  return Math.abs(Math.log2(target) - Math.log2(count));
}

/** The preview of the next transition towards `target`; throws PreconditionError when it must not start now. */
export function previewReshard(snapshot: ClusterSnapshot, target: number, loads: ReadonlyMap<string, LoadRecord> = snapshot.load): ReshardPreview {
  if (!Number.isSafeInteger(target)) throw new InvalidArgumentError(`shard count ${target} is not an integer`);
  const count = snapshot.layout.count;
  const steps = reshardSteps(count, target);
  const kind: ReshardKind = target > count ? 'split' : 'merge';
  const to = kind === 'split' ? count * 2 : count / 2;
  const refusals = reshardRefusals(snapshot, kind);
  if (refusals.length > 0) {
    const more = refusals.length > 5 ? `; and ${refusals.length - 5} more` : '';
    throw new PreconditionError(`reshard refused: ${refusals.slice(0, 5).join('; ')}${more}`);
  }
  const n = Math.min(count, to);
  let colocations = 0;
  if (kind === 'merge') for (let low = 0; low < n; low++) if (snapshot.shards[low]?.target !== snapshot.shards[low + n]?.target) colocations++;
  return { kind, from: count, to, target, steps, pairs: n, objectsMoving: objectsMoving(loads, kind, n), colocations, invalidFixedShards: kind === 'merge' ? { from: to, to: count } : null };
}

/** Why a transition of `kind` must not start now (empty: it may). */
export function reshardRefusals(snapshot: ClusterSnapshot, kind: ReshardKind): string[] {
  const out: string[] = [];
  const key = new Keyspace(snapshot.prefix).shardCount;
  const t = snapshot.layout.transition;
  if (snapshot.malformed.has(key)) out.push(`${key} is malformed; repair it first`);
  if (t !== null) out.push(`a ${t.kind} ${t.from} -> ${t.to} is already ${t.state === 'running' ? 'running' : 'aborting'} (reshard --abort, or wait for it)`);
  for (const g of [...snapshot.gates.keys()].sort()) out.push(`gate ${g} is a member: upstream gates cannot follow a count change`);
  for (const a of [...snapshot.nodes.keys()].sort()) {
    if (!followsShardCount(snapshot, a)) out.push(`node ${a} cannot follow a count change (${snapshot.nodeInfo.has(a) ? 'an older goverse-node' : 'an upstream node'})`);
  }
  if (snapshot.nodes.size === 0) out.push('no node is alive');
  if (kind === 'split') {
    const strays = strayHighKeys(snapshot);
    if (strays.length > 0) out.push(`${STRAY_REFUSAL} ${strays.slice(0, 5).join(', ')}${strays.length > 5 ? ` (+${strays.length - 5} more)` : ''} would count as split pairs once the split starts: delete them first (etcdctl del <key>)`);
  }
  const n = kind === 'split' ? snapshot.layout.count : snapshot.layout.count / 2;
  const eligible = plannerContext(snapshot);
  for (let id = 0; id < snapshot.numShards; id++) {
    if (!shardInLayout(snapshot, id)) continue;
    const e = snapshot.shards[id];
    // A shard moving to a live target is claimed in moments; one without a live target waits for recovery.
    if (e === undefined || e.target === '' || !snapshot.nodes.has(e.target)) {
      out.push(`shard ${id} has no live target (${e === undefined ? 'no key' : `"${e.raw}"`}): wait until every shard is assigned`);
    } else if (kind === 'merge' && id < n) {
      const high = snapshot.shards[id + n];
      if (high === undefined || e.target === high.target) continue;
      if (isPinned(e) && isPinned(high)) {
        out.push(`shards ${id} and ${id + n} are pinned to ${e.target} and ${high.target}: no node can hold both; unpin one`);
      } else {
        // Co-location moves the other shard to the pinned one's node, which must take new shards.
        const pinned = isPinned(e) ? e : isPinned(high) ? high : null;
        if (pinned !== null && !eligible.index.has(pinned.target)) {
          out.push(`shard ${pinned.id} is pinned to ${pinned.target}, which takes no new shards (${eligible.ineligible.get(pinned.target) ?? 'not alive'}): its pair cannot be co-located; unpin it or undrain the node`);
        }
      }
    }
  }
  return out;
}

/** How the refusal for stray keys begins (the chaos runner, as an operator, deletes them and goes on). */
export const STRAY_REFUSAL = 'stray keys';

/**
 * Shard, migration and release-request keys with IDs in [count, 2 * count): malformed today (beyond the count), but a
 * split makes those IDs valid, and a high shard key that exists is the pair's switch (docs/RESHARDING.md §4): a stray
 * one would move objects to it that its low shard's owner still serves.
 */
export function strayHighKeys(snapshot: ClusterSnapshot): string[] {
  const keys = new Keyspace(snapshot.prefix);
  const { count } = snapshot.layout;
  const out: string[] = [];
  for (const key of snapshot.malformed.keys()) {
    const k = keys.classify(key, 2 * count);
    if ((k.kind === 'shard' || k.kind === 'migration' || k.kind === 'release-request') && k.shardId >= count) out.push(key);
  }
  return out.sort();
}

/** The record that starts the next transition towards `target`, CAS on the record's ModRevision. */
export function startRecord(snapshot: ClusterSnapshot, preview: ReshardPreview, now: number, by: string): ShardCountRecord {
  return {
    count: preview.from,
    transition: { kind: preview.kind, from: preview.from, to: preview.to, state: 'running', startedAt: now, by, id: `${now.toString(36)}-${preview.from}-${preview.to}` },
    reshards: snapshot.layout.reshards,
  };
}

/** The record that turns the transition under way into its abort; throws PreconditionError when none runs. */
export function abortRecord(snapshot: ClusterSnapshot): ShardCountRecord | null {
  const t = snapshot.layout.transition;
  if (t === null) throw new PreconditionError('no shard-count transition is running: nothing to abort');
  if (t.state === 'aborting') return null;
  return { count: snapshot.layout.count, transition: { ...t, state: 'aborting' }, reshards: snapshot.layout.reshards };
}

/** The stored record's value, for the plan's `old`. */
export function currentRecordValue(snapshot: ClusterSnapshot): string | null {
  const l = snapshot.layout;
  return l.source === 'record' ? encodeShardCount({ count: l.count, transition: l.transition, reshards: l.reshards }) : null;
}

function objectsMoving(loads: ReadonlyMap<string, LoadRecord>, kind: ReshardKind, n: number): number | null {
  if (loads.size === 0) return null;
  let total = 0;
  for (const record of loads.values()) {
    for (const [shard, objects] of record.shards) {
      if (kind === 'split' && shard < n) total += objects / 2;
      else if (kind === 'merge' && shard >= n && shard < 2 * n) total += objects;
    }
  }
  return Math.round(total);
}

/** The plan that starts the next transition towards `to` (one record change, CAS; created when absent). */
export function planReshardStart(snapshot: ClusterSnapshot, to: number, now: number, by: string): OperationPlan {
  const preview = previewReshard(snapshot, to);
  const record = startRecord(snapshot, preview, now, by);
  const step = preview.steps > 1 ? ` (step 1 of ${preview.steps} towards ${to})` : '';
  return {
    operation: 'reshard',
    shardChanges: [],
    recordChanges: [recordChange(snapshot, encodeShardCount(record))],
    skipped: [],
    summary: `${preview.kind} ${preview.from} -> ${preview.to} shards${step}`,
  };
}

/** The plan that aborts the transition under way (nothing when it is already aborting). */
export function planReshardAbort(snapshot: ClusterSnapshot): OperationPlan {
  const record = abortRecord(snapshot);
  const t = snapshot.layout.transition!;
  return {
    operation: 'reshard-abort',
    shardChanges: [],
    recordChanges: record === null ? [] : [recordChange(snapshot, encodeShardCount(record))],
    skipped: [],
    summary: record === null ? `the ${t.kind} ${t.from} -> ${t.to} is already aborting` : `abort the ${t.kind} ${t.from} -> ${t.to}: undo its pairs, back to ${t.from} shards`,
  };
}

function recordChange(snapshot: ClusterSnapshot, value: string): PlannedRecordChange {
  const key = new Keyspace(snapshot.prefix).shardCount;
  return { id: 'shard-count', key, old: currentRecordValue(snapshot), new: value, expectedModRevision: snapshot.layout.modRevision };
}
