/**
 * The leader's execution of a shard-count transition (the plan: core/planner/reshardLeader.ts) and its account of the
 * phases. Every write carries the leader's guard: co-location retargets (with their migration records), the pairs
 * nobody owns, and the CAS of the record that ends the transition. Phases go to a ReshardJournal: a log line, and the
 * leader's entries in the cluster history.
 */
import { describeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import { encodeShardCount, type ShardCountTransition } from '../core/keyspace/shardCount.js';
import type { Logger } from '../core/log/logger.js';
import type { ShardWrite } from '../core/planner/plan.js';
import type { LeaderReshardPlan } from '../core/planner/reshardLeader.js';
import { pendingPairs, reshardProgress } from '../core/planner/reshard.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import type { TxnRequest, TxnResult } from '../edge/etcd/client.js';
import type { LeaderGuard } from './leaderGuard.js';
import { commitPairs } from './pairTxns.js';
import type { ShardWrites } from './shardWrites.js';

/** A phase of a transition as the leader saw or made it (docs/RESHARDING.md §5.5). */
export type ReshardPhaseEvent =
  /**
   * The leader saw the transition (or its abort) for the first time in its term: a new leader reports a transition
   * under way again, so readers key phases by transition ID and phase.
   */
  | { readonly phase: 'started' | 'aborting'; readonly at: number; readonly transition: ShardCountTransition }
  /** This leader wrote the record that ends the transition: `count` is in force from now on. */
  | { readonly phase: 'completed' | 'aborted'; readonly at: number; readonly transition: ShardCountTransition; readonly count: number }
  /** No pair progressed for the stuck timeout while owners still had pairs to do. */
  | { readonly phase: 'stalled'; readonly at: number; readonly transition: ShardCountTransition; readonly done: number; readonly owners: readonly string[] };

/** Where the leader reports phases; synchronous, must not throw. */
export interface ReshardJournal {
  phase(event: ReshardPhaseEvent): void;
}

/** One log line per phase (the leader adds the history entry). */
export function logJournal(log: Logger): ReshardJournal {
  return {
    phase: (e) => {
      const t = e.transition;
      log.info(`reshard ${e.phase}: ${t.kind} ${t.from} -> ${t.to}`, { transition: t.id, by: t.by, ...('count' in e ? { count: e.count } : {}) });
    },
  };
}

/** Each phase goes to `base` (a log line) and to the leader's entries in the cluster history. */
export function historyJournal(base: ReshardJournal, history: { reshardPhase(phase: string, reason: string, at: number): void }): ReshardJournal {
  return {
    phase: (e) => {
      base.phase(e);
      const t = e.transition;
      const stalled = e.phase === 'stalled' ? `: ${e.done} pairs done; waiting for ${e.owners.join(', ')}` : '';
      history.reshardPhase(e.phase, `${t.kind} ${t.from} -> ${t.to} (${t.id}, by ${t.by})${stalled}`, e.at);
    },
  };
}

export interface LeaderReshardContext {
  readonly keys: Keyspace;
  readonly log: Logger;
  readonly writes: ShardWrites;
  readonly journal: ReshardJournal;
  readonly stuckTimeoutMs: number;
  txn(request: TxnRequest): Promise<TxnResult>;
}

export class LeaderReshard {
  /** `<id>/<state>` of the transition last reported in this term. */
  private seen: string | null = null;
  private progress: { done: number; since: number; stalled: boolean } | null = null;

  constructor(private readonly ctx: LeaderReshardContext) {}

  /** A new term reports the transition under way again. */
  reset(): void {
    this.seen = null;
    this.progress = null;
  }

  /** Reports phases the snapshot shows (a start, an abort) and stalls; called on every leader pass. */
  observe(snap: ClusterSnapshot, now: number): void {
    const t = snap.layout.transition;
    if (t === null) return this.reset();
    const key = `${t.id}/${t.state}`;
    if (this.seen !== key) {
      this.seen = key;
      this.progress = null;
      this.ctx.journal.phase({ phase: t.state === 'running' ? 'started' : 'aborting', at: now, transition: t });
    }
    const p = reshardProgress(snap)!;
    if (this.progress === null || this.progress.done !== p.done) this.progress = { done: p.done, since: now, stalled: false };
    else if (!this.progress.stalled && now - this.progress.since >= this.ctx.stuckTimeoutMs && p.done < p.pairs) {
      this.progress.stalled = true;
      const owners = ownersOf(snap);
      this.ctx.log.warn('reshard stalled: no pair progressed for the stuck timeout', { done: p.done, pairs: p.pairs, owners });
      this.ctx.journal.phase({ phase: 'stalled', at: now, transition: t, done: p.done, owners });
    }
  }

  /**
   * Writes the plan under the guard; returns the keys written, the co-location writes made (moves) and the low shards
   * of the pairs split or merged.
   */
  async execute(snap: ClusterSnapshot, plan: LeaderReshardPlan, guard: LeaderGuard, now: number): Promise<{ writes: number; colocated: ShardWrite[]; pairs: number[] }> {
    const { ctx } = this;
    const report = await ctx.writes.write(snap, plan.colocate, { label: 'reshard co-location', now, guard });
    const colocated = plan.colocate.filter((_, i) => report?.results[i]?.status === 'written');
    const pairs: number[] = [];
    let writes = colocated.length;
    if (report?.guardFailure != null) return { writes, colocated, pairs };
    for (const c of await commitPairs(ctx, plan.pairs, 'reshard (leader)', guard)) pairs.push(...c.pairs.map((p) => p.low));
    writes += pairs.length;
    if (plan.complete !== null) writes += await this.complete(snap, plan, guard, now);
    return { writes, colocated, pairs };
  }

  /** The CAS that ends the transition: from its revision on every process routes with the new count. */
  private async complete(snap: ClusterSnapshot, plan: LeaderReshardPlan, guard: LeaderGuard, now: number): Promise<number> {
    const { keys, log } = this.ctx;
    const t = snap.layout.transition!;
    const complete = plan.complete!;
    try {
      const compares = [guard, { key: keys.shardCount, modRevision: complete.expectedModRevision }];
      const res = await this.ctx.txn({
        compares,
        success: [{ type: 'put', key: keys.shardCount, value: encodeShardCount(complete.record) }],
        failureReads: compares.map((c) => c.key),
      });
      if (!res.succeeded) {
        this.ctx.writes.healFromTxn(compares.map((c) => c.key), res);
        return 0;
      }
      this.ctx.journal.phase({ phase: t.state === 'running' ? 'completed' : 'aborted', at: now, transition: t, count: complete.record.count });
      return 1;
    } catch (err) {
      log.warn('could not end the shard-count transition; retried on the next pass', { err: describeError(err) });
      return 0;
    }
  }
}

/** The owners of the pairs left, for a stall report. */
function ownersOf(snap: ClusterSnapshot): string[] {
  const owners = new Set<string>();
  for (const low of pendingPairs(snap)?.pairs ?? []) {
    const owner = snap.shards[low]?.current ?? '';
    if (owner !== '') owners.add(owner);
  }
  return [...owners].sort().slice(0, 20);
}
