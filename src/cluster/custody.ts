import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { isPinned } from '../core/keyspace/shardValue.js';
import type { Logger } from '../core/log/logger.js';
import { plannerContext } from '../core/planner/context.js';
import { shardWrite, type ShardWrite } from '../core/planner/plan.js';
import { Placement } from '../core/planner/placement.js';
import type { MemberSettings } from '../core/planner/settings.js';
import type { ClusterSnapshot, ShardEntry } from '../core/snapshot/snapshot.js';
import type { ShardWriteReport } from '../edge/etcd/shardWriter.js';
import { ShardOwnership } from './ownership.js';
import { OwnerReshard, type PairStepsContext } from './reshardCustody.js';
import type { ShardLock, ShardLockHandle } from './shardLock.js';
import type { ShardWrites } from './shardWrites.js';

/** A shard the stopping node hands over, and to whom. */
interface HandOverMove {
  readonly shardId: number;
  readonly to: string;
}

export type EvictionMode = { readonly kind: 'save' } | { readonly kind: 'fenced'; readonly fencedAt: number };

/** What the runtime needs from the node's objects: evict them when a shard leaves, refuse new ones on shutdown. */
export interface MemberObjects {
  /** `only`: just the objects whose ID it accepts (a split evicts the half that moves). */
  evictShard(shardId: number, mode: EvictionMode, only?: (objectId: string) => boolean): Promise<{ readonly failed: readonly unknown[] }>;
  evictAll(mode: EvictionMode): Promise<{ readonly failed: readonly unknown[] }>;
  refuseActivations(): void;
}

/** The custodian's events for metrics; all optional and synchronous. */
export interface CustodyMetrics {
  claimed?(shards: number, durationMs: number): void;
  released?(shards: number, durationMs: number): void;
  /** A migration this node completed by claiming, with its end-to-end duration and the previous owner. */
  migrationCompleted?(durationMs: number, from: string): void;
}

/** What the custody role needs from its member, and no more. */
export interface CustodyContext {
  readonly address: string;
  readonly settings: Pick<MemberSettings, 'planner' | 'lockTimeoutMs'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: CustodyMetrics;
  readonly lock: Pick<ShardLock, 'acquireWriteMany'>;
  readonly writes: ShardWrites;
  /** The latest cluster snapshot. */
  snapshot(): ClusterSnapshot;
  /** The node's objects, once attached. */
  objects(): MemberObjects | null;
  /** True once the node is stopping: it claims nothing more. */
  stopping(): boolean;
  /** Runs a lifecycle pass now and waits for it. */
  runPass(): Promise<void>;
  /** Resolves at the next snapshot, or after `ms`. */
  waitForChange(ms: number): Promise<void>;
  /** Pair transactions of a shard-count transition and the watch's progress (OwnerReshard). */
  readonly pairs: PairStepsContext;
}

/**
 * The custody role of a member: the shards this node owns. Claims the shards targeted here whose owner is gone
 * (each claim write is the shard's ownership epoch), evicts and releases the shards targeted elsewhere under the
 * shard write locks, drops shards someone else took and, when fenced, everything; hands its shards over on a stop.
 */
export class ShardCustody {
  private readonly ownership: ShardOwnership;
  private readonly pairSteps: OwnerReshard;

  constructor(private readonly ctx: CustodyContext) {
    this.ownership = new ShardOwnership(ctx.address);
    this.pairSteps = new OwnerReshard(ctx, this.ownership);
  }

  /** Splits or merges the pairs of a shard-count transition that this node owns (docs/RESHARDING.md §5). */
  reshard(): Promise<number> {
    return this.pairSteps.run();
  }

  /** The epoch under which this node may serve the shard in `snap`, or null. */
  servingEpoch(snap: ClusterSnapshot, shardId: number): number | null {
    return this.ownership.servingEpoch(snap, shardId);
  }

  /** The shards this node holds an epoch for. */
  owned(): number[] {
    return [...this.ownership.ids()];
  }

  /** Claims shards targeted here whose owner is gone, and re-claims (new epoch) own shards of an earlier term. */
  async claim(): Promise<void> {
    const { address, clock, log, metrics } = this.ctx;
    const snap = this.ctx.snapshot();
    if (this.ctx.stopping()) return;
    const writes: ShardWrite[] = [];
    for (const e of snap.shards) {
      if (e === undefined || e.target !== address) continue;
      // Claimed already, the watch not caught up yet: claiming it again would only lose its compare.
      if (this.ownership.claimedSince(e.id, e.modRevision)) continue;
      const ownerGone = e.current === '' || !snap.nodes.has(e.current);
      const reclaim = e.current === address && !this.ownership.has(e.id);
      if (ownerGone || reclaim) writes.push(shardWrite(snap, e.id, { current: address }));
    }
    if (writes.length === 0) return;
    const started = clock.monotonic();
    const lock = await this.lockShards(writes.map((w) => w.shardId), 'claim');
    if (lock === null) return;
    try {
      // The migration ends with the claim: its record goes in the same transactions.
      const report = await this.ctx.writes.write(snap, writes, { label: 'claim', now: clock.now() });
      if (report === null) return;
      const now = clock.now();
      for (const r of report.results) {
        if (r.status !== 'written') continue;
        this.ownership.claimed(r.shardId, r.modRevision);
        const record = snap.migrations.get(r.shardId);
        if (record !== undefined && record.target === address) metrics.migrationCompleted?.(Math.max(0, now - record.since), record.from);
      }
      if (report.written > 0) {
        metrics.claimed?.(report.written, clock.monotonic() - started);
        log.debug('claimed shards', { count: report.written });
      }
    } finally {
      lock.release();
    }
  }

  /**
   * Runs the leader's `writes` through `write` with this node's own claims folded in: a shard the leader targets here
   * whose owner is gone is claimed in the same write (CurrentNode = this node), under the shard write locks, and its
   * epoch is that write's revision. A cold start then writes each shard once instead of twice (the assignment, then
   * the claim), and a failover's shards are served one round trip sooner. Without the locks (or while stopping) the
   * writes go as planned and the claim pass claims them later.
   */
  async withOwnClaims(
    writes: readonly ShardWrite[],
    write: (writes: readonly ShardWrite[]) => Promise<ShardWriteReport | null>,
  ): Promise<ShardWriteReport | null> {
    const { address, clock, log, metrics } = this.ctx;
    const snap = this.ctx.snapshot();
    const ownerGone = (current: string): boolean => current === '' || !snap.nodes.has(current);
    const claimable = (w: ShardWrite): boolean => w.after.target === address && w.after.current !== address && ownerGone(w.after.current);
    const own = this.ctx.stopping() ? [] : writes.filter(claimable);
    if (own.length === 0) return write(writes);
    const started = clock.monotonic();
    const lock = await this.lockShards(own.map((w) => w.shardId), 'claim');
    if (lock === null) return write(writes);
    try {
      const claiming = new Set(own.map((w) => w.shardId));
      const merged = writes.map((w) => (claiming.has(w.shardId) ? { ...w, after: { ...w.after, current: address } } : w));
      const report = await write(merged);
      let claimed = 0;
      report?.results.forEach((r, i) => {
        if (r.status !== 'written' || !claiming.has(r.shardId)) return;
        this.ownership.claimed(r.shardId, r.modRevision);
        claimed++;
        // Moved from a dead owner: a migration that ends in the write that starts it.
        const from = merged[i]!.before.current;
        if (from !== '' && from !== address) metrics.migrationCompleted?.(0, from);
      });
      if (claimed > 0) {
        metrics.claimed?.(claimed, clock.monotonic() - started);
        log.debug('claimed shards in the assignment', { count: claimed });
      }
      return report;
    } finally {
      lock.release();
    }
  }

  /** Evicts (saving) and releases shards targeted elsewhere; a shard whose objects cannot be saved is kept. */
  async release(): Promise<void> {
    const { clock, log, metrics } = this.ctx;
    const candidates = this.ctx.snapshot().shards.filter((e) => this.releasing(e)).map((e) => e.id);
    if (candidates.length === 0) return;
    const started = clock.monotonic();
    const lock = await this.lockShards(candidates, 'release');
    if (lock === null) return;
    try {
      const evicted = await this.evict(candidates);
      // Re-read: the eviction may have taken a while; release only what still needs it, with a fresh compare.
      const fresh = this.ctx.snapshot();
      const writes = evicted.filter((id) => this.releasing(fresh.shards[id])).map((id) => shardWrite(fresh, id, { current: '' }));
      const report = await this.ctx.writes.write(fresh, writes, { label: 'release', now: clock.now() });
      if (report === null) return;
      for (const r of report.results) if (r.status === 'written') this.ownership.released(r.shardId);
      if (report.written > 0) {
        metrics.released?.(report.written, clock.monotonic() - started);
        log.debug('released shards', { count: report.written });
      }
    } finally {
      lock.release();
    }
  }

  /** Owned shards that someone else took (a forced release): stop serving them and drop their objects. */
  dropLost(): void {
    const lost = this.ownership.lost(this.ctx.snapshot());
    for (const id of lost) {
      this.ownership.released(id);
      this.ctx.log.warn('shard taken over by a later write; dropping it', { shard: id });
      void this.ctx.objects()?.evictShard(id, { kind: 'save' }).catch(() => undefined);
    }
  }

  /** The fence tripped at monotonic `since`: every epoch is gone, the objects are dropped unsaved, dated then. */
  onFenced(since: number): void {
    this.ownership.clear();
    const { clock } = this.ctx;
    const fencedAt = clock.now() - (clock.monotonic() - since);
    void this.ctx
      .objects()
      ?.evictAll({ kind: 'fenced', fencedAt })
      .catch((err: unknown) => {
        this.ctx.log.error('dropping objects after fencing failed', { err: describeError(err) });
      });
  }

  /**
   * Hands every unpinned shard targeted here to the other eligible nodes, until none is owned here or the monotonic
   * `deadline`; false when it ran out. The shards it owns are released in the write that retargets them, once their
   * objects are saved, so their new owners claim them at once: one write per shard, and no wait for a release pass.
   * (The leader leaves them to this node while it is alive: planReassign.)
   */
  async handOver(deadline: number): Promise<boolean> {
    const { address, clock, log } = this.ctx;
    while (clock.monotonic() < deadline) {
      const snap = this.ctx.snapshot();
      // Ineligible although its own `stopping` may not have come back through the watch yet.
      const planning = plannerContext(snap, address);
      if (planning.eligible.length === 0) {
        log.warn('no other eligible node to hand shards over to; keeping the assignments');
        return true;
      }
      const placement = new Placement(planning, snap, this.ctx.settings.planner.assignment);
      const moves: HandOverMove[] = [];
      for (const e of snap.shards) {
        if (!this.handing(e)) continue;
        const to = placement.choose(e.id, address);
        if (to !== null) moves.push({ shardId: e.id, to });
      }
      const revision = await this.handOverWrite(moves);
      // Releases what was moved away by others meanwhile, or kept back by a failed save.
      await this.ctx.runPass();
      await this.caughtUp(revision, deadline);
      const remaining = this.ctx.snapshot().shards.filter((e) => e?.current === address && !isPinned(e)).length;
      if (remaining === 0 && moves.length === 0) return true;
      if (remaining === 0) continue;
      await this.ctx.waitForChange(Math.min(250, Math.max(0, deadline - clock.monotonic())));
    }
    log.error('shutdown timeout: deregistering with shards left', {
      left: this.ctx.snapshot().shards.filter((e) => e?.current === address).map((e) => e!.id).slice(0, 50),
    });
    return false;
  }

  /**
   * Retargets the shards of `moves`; those owned here are released in the same write once their objects are evicted
   * and saved under the shard write locks (one whose objects could not be saved is only retargeted: the release pass
   * tries again). Returns the revision its writes reached (0 for none).
   */
  private async handOverWrite(moves: readonly HandOverMove[]): Promise<number> {
    if (moves.length === 0) return 0;
    const { address, clock, metrics } = this.ctx;
    const started = clock.monotonic();
    const snap = this.ctx.snapshot();
    const owned = moves.filter((m) => snap.shards[m.shardId]?.current === address).map((m) => m.shardId);
    const lock = owned.length === 0 ? null : await this.lockShards(owned, 'hand-over');
    try {
      const evicted = new Set(lock === null ? [] : await this.evict(owned));
      // Re-read: the eviction may have taken a while; hand over only what is still here, with a fresh compare.
      const fresh = this.ctx.snapshot();
      const writes = moves
        .filter((m) => this.handing(fresh.shards[m.shardId]))
        .map((m) => {
          const release = evicted.has(m.shardId) && fresh.shards[m.shardId]!.current === address;
          // Served no more from here on, before the write: a pass running beside this stop must not take its echo
          // for someone else's write. A write that fails leaves it owned in etcd and unserved, for the release pass.
          if (release) this.ownership.released(m.shardId);
          return shardWrite(fresh, m.shardId, release ? { target: m.to, current: '' } : { target: m.to });
        });
      const report = await this.ctx.writes.write(fresh, writes, { label: 'hand-over', now: clock.now() });
      if (report === null) return 0;
      let released = 0;
      let revision = 0;
      report.results.forEach((r, i) => {
        if (r.status !== 'written') return;
        revision = Math.max(revision, r.modRevision);
        if (writes[i]!.before.current === address && writes[i]!.after.current === '') released++;
      });
      if (released > 0) metrics.released?.(released, clock.monotonic() - started);
      return revision;
    } finally {
      lock?.release();
    }
  }

  /** Waits until the snapshot has seen `revision` (the node's own writes), or the deadline. */
  private async caughtUp(revision: number, deadline: number): Promise<void> {
    const { clock } = this.ctx;
    while (this.ctx.snapshot().revision < revision && clock.monotonic() < deadline) {
      await this.ctx.waitForChange(Math.min(250, deadline - clock.monotonic()));
    }
  }

  /** Targeted here (or owned here without a target) and not pinned: to be handed over on a stop. */
  private handing(e: ShardEntry | undefined): e is ShardEntry {
    const { address } = this.ctx;
    return e !== undefined && !isPinned(e) && (e.target === address || (e.target === '' && e.current === address));
  }

  /** Owned here and targeted at another node: to be released. */
  private releasing(e: ShardEntry | undefined): e is ShardEntry {
    return e !== undefined && e.current === this.ctx.address && e.target !== this.ctx.address && e.target !== '';
  }

  /** The shards whose objects were evicted and saved (all of them before any objects are attached). */
  private async evict(ids: readonly number[]): Promise<number[]> {
    const objects = this.ctx.objects();
    if (objects === null) return [...ids];
    const ok: number[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const report = await objects.evictShard(id, { kind: 'save' });
          if (report.failed.length === 0) ok.push(id);
          else this.ctx.log.error('shard kept: objects could not be saved', { shard: id, failed: report.failed.length });
        } catch (err) {
          this.ctx.log.error('shard kept: eviction failed', { shard: id, err: describeError(err) });
        }
      }),
    );
    return ok;
  }

  private async lockShards(ids: readonly number[], label: string): Promise<ShardLockHandle | null> {
    try {
      return await this.ctx.lock.acquireWriteMany(ids, { timeoutMs: this.ctx.settings.lockTimeoutMs, label });
    } catch (err) {
      this.ctx.log.warn(`${label}: could not lock shards; retried on a later pass`, { err: describeError(err), shards: ids.length });
      return null;
    }
  }
}
