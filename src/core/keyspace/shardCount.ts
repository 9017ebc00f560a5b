/**
 * The cluster-wide shard-count record at `<prefix>/shard-count` (docs/RESHARDING.md §2): the count in force and the
 * transition under way, written only by compare-and-swap. The decoder never throws and tolerates fields it does not
 * know; what routing depends on (the counts) is held to the rules, the informational fields are read leniently.
 */
import { MAX_SHARDS } from '../config/settings/cluster.js';
import type { Decoded } from './records.js';

export type ReshardKind = 'split' | 'merge';
/** `aborting` reverses the direction: the pairs already done are undone (docs/RESHARDING.md §6). */
export type ReshardState = 'running' | 'aborting';

export interface ShardCountTransition {
  readonly kind: ReshardKind;
  /** The count in force while the transition runs. */
  readonly from: number;
  readonly to: number;
  readonly state: ReshardState;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly by: string;
  /** Random; names the transition in logs and the history. */
  readonly id: string;
}

export interface ShardCountRecord {
  /** The count in force; during a transition it stays `from` until the transition completes. */
  readonly count: number;
  readonly transition: ShardCountTransition | null;
  /**
   * Completed transitions since the record was created. A member that cannot follow a count change (an upstream node)
   * is not eligible once this is above 0 or while a transition runs: it routes with the count it was started with.
   */
  readonly reshards: number;
}

/** Counts are powers of two in 1..MAX_SHARDS: doubling and halving then keep every object in its pair. */
export function isShardCount(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_SHARDS && (n & (n - 1)) === 0;
}

/** Why `n` cannot be a shard count, or null. */
export function shardCountProblem(n: number): string | null {
  if (isShardCount(n)) return null;
  return `${n} is not a power of two between 1 and ${MAX_SHARDS}`;
}

export function decodeShardCount(raw: string): Decoded<ShardCountRecord> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (!isObject(parsed)) return { ok: false, reason: 'not a JSON object' };
  const count = parsed.count;
  if (typeof count !== 'number' || !isShardCount(count)) return { ok: false, reason: `field "count" must be a power of two between 1 and ${MAX_SHARDS}` };
  const reshards = typeof parsed.reshards === 'number' && Number.isSafeInteger(parsed.reshards) && parsed.reshards >= 0 ? parsed.reshards : 0;
  const t = parsed.transition;
  if (t === undefined || t === null) return { ok: true, record: { count, transition: null, reshards } };
  const transition = decodeTransition(t, count);
  if (typeof transition === 'string') return { ok: false, reason: transition };
  return { ok: true, record: { count, transition, reshards } };
}

function decodeTransition(t: unknown, count: number): ShardCountTransition | string {
  if (!isObject(t)) return 'field "transition" must be an object or null';
  const { kind, from, to, state } = t;
  if (kind !== 'split' && kind !== 'merge') return 'field "transition.kind" must be "split" or "merge"';
  if (from !== count) return 'field "transition.from" must equal "count"';
  const expected = kind === 'split' ? count * 2 : count / 2;
  if (to !== expected || !isShardCount(expected)) return `field "transition.to" must be ${kind === 'split' ? 'twice' : 'half'} "count" and within bounds`;
  if (state !== 'running' && state !== 'aborting') return 'field "transition.state" must be "running" or "aborting"';
  return {
    kind,
    from: count,
    to: expected,
    state,
    startedAt: typeof t.startedAt === 'number' && Number.isFinite(t.startedAt) ? t.startedAt : 0,
    by: typeof t.by === 'string' ? t.by : '',
    id: typeof t.id === 'string' ? t.id : '',
  };
}

export function encodeShardCount(record: ShardCountRecord): string {
  const t = record.transition;
  return JSON.stringify({
    count: record.count,
    transition: t === null ? null : { kind: t.kind, from: t.from, to: t.to, state: t.state, startedAt: t.startedAt, by: t.by, id: t.id },
    reshards: record.reshards,
  });
}

/** The operation that brings a pair to where the transition is heading: the kind, reversed while aborting. */
export function pairGoal(t: ShardCountTransition): ReshardKind {
  if (t.state === 'running') return t.kind;
  return t.kind === 'split' ? 'merge' : 'split';
}

/** The count in force once the transition ends: `to` when it runs to completion, `from` when it is aborted. */
export function countAfter(t: ShardCountTransition): number {
  return t.state === 'running' ? t.to : t.from;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
