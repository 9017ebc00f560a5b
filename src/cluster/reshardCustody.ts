/**
 * The owner's part of a shard-count transition (docs/RESHARDING.md §5.2, §5.3, §8): splits the pairs whose low shard
 * this node owns and merges the pairs whose two shards it owns. Per step, under the write locks of both shards of
 * each pair (no call runs on them): evict (saving) the objects that change shard, commit one guarded transaction,
 * take the new epochs, and wait until this node's own watch has applied the transaction before unlocking, so no
 * call here places an object by the pair's old rule. Epochs carry that revision too (ShardOwnership), so even a watch
 * slower than the wait cannot serve by the old rule.
 */
import { describeError } from '../core/errors.js';
import type { PairTxn } from '../core/planner/reshard.js';
import { planOwnerReshard } from '../core/planner/reshardOwner.js';
import { pairHalf, pairLowCount } from '../core/sharding/layout.js';
import type { CustodyContext } from './custody.js';
import type { ShardOwnership } from './ownership.js';
import { commitPairs, type PairTxnContext } from './pairTxns.js';

/** Pairs per step: the calls on them wait for one eviction and one transaction, so a step stays short. */
const PAIRS_PER_STEP = 32;
/** How long a step waits for the watch to deliver its own transaction before it unlocks anyway (see above). */
const WATCH_WAIT_MS = 5000;

/** What the owner's steps need beyond the custody context: pair transactions and the watch's progress. */
export interface PairStepsContext extends PairTxnContext {
  /** Resolves true once the snapshot has reached `revision`, false after `ms`. */
  waitForRevision(revision: number, ms: number): Promise<boolean>;
}

export class OwnerReshard {
  constructor(
    private readonly ctx: CustodyContext,
    private readonly ownership: ShardOwnership,
  ) {}

  /** Splits or merges the pairs this node owns; returns how many it did. */
  async run(): Promise<number> {
    const { ctx } = this;
    const snap = ctx.snapshot();
    if (snap.layout.transition === null || ctx.stopping()) return 0;
    const planned = planOwnerReshard(snap, ctx.address, (id) => this.ownership.servingEpoch(snap, id) !== null);
    let done = 0;
    for (let i = 0; i < planned.length; i += PAIRS_PER_STEP) done += await this.step(planned.slice(i, i + PAIRS_PER_STEP).map((p) => p.low));
    return done;
  }

  private async step(lows: readonly number[]): Promise<number> {
    const { ctx } = this;
    const n = pairLowCount(ctx.snapshot().layout);
    if (n === null) return 0;
    let lock;
    try {
      lock = await ctx.lock.acquireWriteMany(lows.flatMap((low) => [low, low + n]), { timeoutMs: ctx.settings.lockTimeoutMs, label: 'reshard' });
    } catch (err) {
      ctx.log.warn('reshard: could not lock shards; retried on a later pass', { err: describeError(err), pairs: lows.length });
      return 0;
    }
    try {
      // Planned again under the locks: only pairs still this node's, with the values to compare now.
      const fresh = ctx.snapshot();
      const wanted = new Set(lows);
      const pairs = planOwnerReshard(fresh, ctx.address, (id) => this.ownership.servingEpoch(fresh, id) !== null).filter((p) =>
        wanted.has(p.low),
      );
      const evicted = await this.evict(pairs, n);
      const committed = await commitPairs(ctx.pairs, evicted, 'reshard');
      let revision = 0;
      for (const c of committed) {
        revision = Math.max(revision, c.revision);
        for (const p of c.pairs) this.adopt(p, c.revision);
      }
      if (revision > 0 && !(await ctx.pairs.waitForRevision(revision, WATCH_WAIT_MS))) {
        ctx.log.warn('reshard: the watch has not delivered our own transaction yet; the shards wait for it', { revision });
      }
      const count = committed.reduce((s, c) => s + c.pairs.length, 0);
      if (count > 0) ctx.log.info(`reshard: ${pairs[0]!.op === 'split' ? 'split' : 'merged'} ${count} pairs`, { revision });
      return count;
    } finally {
      lock.release();
    }
  }

  /** Evicts (saving) the objects that change shard; pairs whose objects could not all be saved wait. */
  private async evict(pairs: readonly PairTxn[], n: number): Promise<PairTxn[]> {
    const objects = this.ctx.objects();
    if (objects === null) return [...pairs];
    const ok: PairTxn[] = [];
    await Promise.all(
      pairs.map(async (p) => {
        try {
          const report =
            p.op === 'split'
              ? await objects.evictShard(p.low, { kind: 'save' }, (id) => pairHalf(id, n) === 'high')
              : await objects.evictShard(p.high, { kind: 'save' });
          if (report.failed.length === 0) ok.push(p);
          else this.ctx.log.error('reshard: pair kept: objects could not be saved', { low: p.low, failed: report.failed.length });
        } catch (err) {
          this.ctx.log.error('reshard: pair kept: eviction failed', { low: p.low, err: describeError(err) });
        }
      }),
    );
    return ok;
  }

  /** The epochs after a committed pair: a split's high shard is claimed by it, a merge gives the low shard a new one. */
  private adopt(p: PairTxn, revision: number): void {
    if (p.op === 'split') {
      this.ownership.claimed(p.high, revision, revision);
      this.ownership.relaidOut(p.low, revision);
    } else {
      this.ownership.claimed(p.low, revision, revision);
      this.ownership.released(p.high);
    }
  }
}
