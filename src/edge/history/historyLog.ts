/**
 * Writing the cluster history (`<prefix>/history/`): entry ops for a writer's own transaction (the operations
 * executor's CAS, the leader's guarded shard writes), appends in a transaction of their own, and the trim that keeps
 * the history within its bounds (core/history/bounds.ts has the rule). History is a record, never a precondition:
 * a failed append or trim is logged, never thrown into the change it records.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { describeError, InvalidArgumentError } from '../../core/errors.js';
import { countExcess, entrySpan, excessSpan, expiredSpan, type HistoryBounds } from '../../core/history/bounds.js';
import { encodeHistoryEntry, type HistoryDraft, historyId } from '../../core/history/entry.js';
import type { Keyspace } from '../../core/keyspace/keys.js';
import { checkValueSize } from '../../core/keyspace/valueBounds.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import { type EtcdClient, MAX_TXN_OPS, type TxnCompare, type TxnOp } from '../etcd/client.js';

/** What every writer of the history uses: the leader, the operations executor, and whatever appends next. */
export interface HistoryAppender {
  /** The bounds it trims by. */
  readonly bounds: HistoryBounds;
  /**
   * The ops that append `drafts` inside the caller's transaction: a put per entry and the deletion of the entries
   * older than the age bound. Their keys never overlap the caller's (they are all under `history/`).
   */
  ops(drafts: readonly HistoryDraft[]): TxnOp[];
  /** Appends in a transaction of its own, under `compares` (the leader's guard); false when not written. Never throws. */
  append(drafts: readonly HistoryDraft[], compares?: readonly TxnCompare[]): Promise<boolean>;
  /** Deletes the oldest entries beyond the count bound and those older than the age bound. Never throws. */
  trim(): Promise<void>;
}

export interface HistoryLogOptions {
  readonly client: Pick<EtcdClient, 'txn' | 'keysBetween'>;
  readonly keys: Keyspace;
  readonly bounds: HistoryBounds;
  readonly clock: Clock;
  readonly logger?: Logger;
}

/** Entries per transaction of their own, well within etcd's op limit with the expiry and the caller's compares. */
const MAX_APPEND = MAX_TXN_OPS - 8;

export class HistoryLog implements HistoryAppender {
  private readonly log: Logger;

  constructor(private readonly options: HistoryLogOptions) {
    this.log = (options.logger ?? nullLogger).child({ component: 'history' });
  }

  get bounds(): HistoryBounds {
    return this.options.bounds;
  }

  ops(drafts: readonly HistoryDraft[]): TxnOp[] {
    if (drafts.length === 0) return [];
    const { keys, bounds, clock } = this.options;
    try {
      const puts = drafts.map((d): TxnOp & { type: 'put' } => {
        const key = keys.history(historyId(d.at, randomBytes(8).toString('hex')));
        const value = encodeHistoryEntry(d);
        checkValueSize(keys, key, value);
        return { type: 'put', key, value };
      });
      // etcd refuses a put inside a range the same transaction deletes: expire only below the oldest entry put.
      const expired = expiredSpan(keys, bounds, clock.now());
      const end = puts.reduce((min, p) => (p.key < min ? p.key : min), expired.end);
      return [...puts, { type: 'delete-range', key: expired.start, end }];
    } catch (err) {
      // Entries are bounded when encoded, so this is a bug; the change they record goes ahead without them.
      this.log.error('history entries not encoded', { entries: drafts.length, err: describeError(err) });
      return [];
    }
  }

  async append(drafts: readonly HistoryDraft[], compares: readonly TxnCompare[] = []): Promise<boolean> {
    if (drafts.length === 0) return true;
    try {
      if (drafts.length > MAX_APPEND) throw new InvalidArgumentError(`history append of ${drafts.length} entries; at most ${MAX_APPEND} at once`);
      const res = await this.options.client.txn({ compares, success: this.ops(drafts) });
      return res.succeeded;
    } catch (err) {
      this.log.warn('history entries not written', { entries: drafts.length, action: drafts[0]!.action, err: describeError(err) });
      return false;
    }
  }

  async trim(): Promise<void> {
    const { client, keys, bounds, clock } = this.options;
    const span = entrySpan(keys);
    try {
      const { keys: first, count } = await client.keysBetween(span.start, span.end, 1);
      let end = expiredSpan(keys, bounds, clock.now()).end;
      const excess = countExcess(count, bounds);
      if (excess > 0) {
        const { keys: oldest } = await client.keysBetween(span.start, span.end, excess);
        const last = oldest[oldest.length - 1];
        if (last !== undefined && excessSpan(keys, last).end > end) end = excessSpan(keys, last).end;
      }
      // Nothing beyond either bound: no write at all.
      if (first[0] === undefined || first[0] >= end) return;
      await client.txn({ compares: [], success: [{ type: 'delete-range', key: span.start, end }] });
      if (excess > 0) this.log.debug('history trimmed', { count, excess });
    } catch (err) {
      this.log.warn('history not trimmed; tried again after the next append', { err: describeError(err) });
    }
  }
}
