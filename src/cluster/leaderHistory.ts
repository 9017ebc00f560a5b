import { decisionEntry, reshardPhaseEntry, SkipReasons, stuckEntries } from '../core/history/leaderEntries.js';
import { trimIntervalMs } from '../core/history/bounds.js';
import type { HistoryDraft } from '../core/history/entry.js';
import type { LeaderDecision } from '../core/planner/leaderStep.js';
import type { ShardWrite } from '../core/planner/plan.js';
import type { StuckShard } from '../core/planner/stuck.js';
import type { TxnOp } from '../edge/etcd/client.js';
import type { HistoryAppender } from '../edge/history/historyLog.js';
import type { LeaderGuard } from './leaderGuard.js';

/**
 * What the leader records in the cluster history during a pass. A decision's entry rides in the transaction of its
 * shard writes when they fit in one (`shardRecordOps`); otherwise (several transactions, or release requests written
 * apart) it is appended right after them, under the leader's guard, with the skip-reason changes and the stuck
 * episodes of the pass (`flush`). The leader also trims the history: after each pass that appended, and every
 * minute (or a quarter of the age bound) while it leads, so an idle history ages out as well.
 */
export class LeaderHistory {
  private readonly skips = new SkipReasons();
  private pending: HistoryDraft[] = [];
  private lastTrim = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly history: HistoryAppender,
    private readonly address: string,
  ) {}

  /** A new term records its first skip reason again and trims at its first pass. */
  newTerm(): void {
    this.skips.reset();
    this.pending = [];
    this.lastTrim = Number.NEGATIVE_INFINITY;
  }

  /** The record ops of a decision's shard writes, for each attempt of their single transaction. */
  shardRecordOps(decision: LeaderDecision, writes: readonly ShardWrite[], now: number): (shardIds: readonly number[]) => readonly TxnOp[] {
    return (shardIds) => {
      const ids = new Set(shardIds);
      const entry = decisionEntry(decision, { writes: writes.filter((w) => ids.has(w.shardId)), others: [], planned: writes.length }, this.address, now);
      return entry === null ? [] : this.history.ops([entry]);
    };
  }

  /**
   * A decision's writes are done: `written` and `others` (release requests) made; queued for `flush` unless its
   * shard transaction carried the entry already.
   */
  decided(decision: LeaderDecision, written: readonly ShardWrite[], others: readonly number[], planned: number, recorded: boolean, now: number): void {
    if (recorded) return;
    const entry = decisionEntry(decision, { writes: written, others, planned }, this.address, now);
    if (entry !== null) this.pending.push(entry);
  }

  /** An idle decision, recorded when its reason changed. */
  skipped(decision: LeaderDecision, now: number): void {
    const entry = this.skips.next(decision, this.address, now);
    if (entry !== null) this.pending.push(entry);
  }

  /** A phase of a shard-count transition. */
  reshardPhase(phase: string, reason: string, now: number): void {
    this.pending.push(reshardPhaseEntry(phase, reason, this.address, now));
  }

  stuck(began: readonly StuckShard[], ended: readonly number[], now: number): void {
    this.pending.push(...stuckEntries(began, ended, this.address, now));
  }

  /** Appends what the pass queued, under the guard; trims when it appended or when the periodic trim is due. */
  async flush(guard: LeaderGuard, recordedInShardTxn: boolean, monotonic: number): Promise<void> {
    const drafts = this.pending;
    this.pending = [];
    const appended = drafts.length > 0 && (await this.history.append(drafts, [guard]));
    if (appended || recordedInShardTxn || monotonic - this.lastTrim >= trimIntervalMs(this.history.bounds)) {
      this.lastTrim = monotonic;
      await this.history.trim();
    }
  }
}
