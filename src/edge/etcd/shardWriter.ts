/**
 * ShardWriter: compare-and-swap writes of many shard mappings, packed into as few etcd transactions as etcd's
 * 128-op limit allows (upstream sends one transaction per shard).
 *
 * Per transaction: one `ModRevision == expected` compare per shard (0 = absent) plus the caller's guard compares,
 * the puts (and any ops riding along with a shard), and the same keys read in the failure branch. A failed
 * transaction therefore tells us, in one round trip, which shards conflict (reported with the fresh value) and
 * whether a guard failed; the other shards are committed at once in a new transaction. Transient errors are retried
 * with capped exponential backoff and jitter until the deadline; conflicts and permanent errors never are.
 */
import {
  AbortedError,
  ConflictError,
  type GoverseError,
  InternalError,
  InvalidArgumentError,
  TimeoutError,
  UnavailableError,
} from '../../core/errors.js';
import { DEFAULT_SHARD_WRITE_RETRY, type ShardWriteRetry } from '../../core/config/shardWriteRetry.js';
import type { Keyspace } from '../../core/keyspace/keys.js';
import { formatShardValue, parseShardValue, type ShardValue } from '../../core/keyspace/shardValue.js';
import { checkValueSize } from '../../core/keyspace/valueBounds.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import type { Kv, ShardEntry } from '../../core/snapshot/snapshot.js';
import {
  categorizeEtcdError,
  type EtcdClient,
  type EtcdFailureCategory,
  mapEtcdError,
  MAX_TXN_OPS,
  type TxnCompare,
  type TxnOp,
} from './client.js';
import { backoffDelay, sleep } from '../timing.js';

export interface ShardChange {
  readonly shardId: number;
  /** The ModRevision the caller last saw; 0 means the key must not exist. */
  readonly expectedModRevision: number;
  /** Written with formatShardValue, so every flag (unknown ones included) survives. */
  readonly value: ShardValue;
  /** Ops committed atomically with this shard (e.g. deleting `<prefix>/migration/<id>`). Keys must be unique. */
  readonly alsoOps?: readonly TxnOp[];
}

export interface ShardWriteOptions {
  /** Compares added to every transaction, e.g. `ModRevision(<prefix>/leader) == won revision`. */
  readonly guard?: readonly TxnCompare[];
  /**
   * Ops that record the write (a history entry), added to its transaction when the whole write fits in one: called
   * for each attempt with the shards that attempt writes (after a lost compare, the others), so what commits is
   * exactly what they describe. Not used when the write takes several transactions (`report.recorded` is false).
   */
  readonly recordOps?: (shardIds: readonly number[]) => readonly TxnOp[];
  /** Give up retrying transient errors after this long. Default: the writer's deadline. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export type ShardWriteResult =
  | { readonly status: 'written'; readonly shardId: number; readonly modRevision: number; readonly raw: string }
  /** The shard changed since `expectedModRevision`; `current` is its fresh state (undefined = absent) at `revision`. */
  | { readonly status: 'conflict'; readonly shardId: number; readonly current: ShardEntry | undefined; readonly revision: number }
  | { readonly status: 'failed'; readonly shardId: number; readonly error: GoverseError };

export interface ShardWriteReport {
  /** One per change, in input order. */
  readonly results: readonly ShardWriteResult[];
  readonly written: number;
  readonly conflicts: number;
  readonly failed: number;
  /** Set when a guard compare failed (e.g. no longer leader); shards not yet written then fail with it. */
  readonly guardFailure: GuardFailedError | null;
  /** Whether the `recordOps` were committed with the shards they describe. */
  readonly recorded: boolean;
}

/**
 * A guard compare failed: the caller's precondition (typically "I am still the leader") no longer holds. A lost
 * CAS like any other (counted as modrevision_conflict), but distinct: retrying cannot help.
 */
export class GuardFailedError extends ConflictError {
  constructor(
    /** The failed guards with the ModRevision found (0 = absent). */
    readonly failed: readonly { readonly key: string; readonly expected: number; readonly actual: number }[],
  ) {
    super(
      `shard write guard failed: ${failed.map((f) => `${f.key} is at ModRevision ${f.actual}, expected ${f.expected}`).join('; ')}`,
    );
  }
}

/** Counts for `goverse_shard_mapping_write_failures_total{error_type}`; all optional. */
export interface ShardWriterMetrics {
  /** Shards that ended as a conflict or a failure, by upstream's categories. */
  onWriteFailures?(category: EtcdFailureCategory, shards: number): void;
  /** A transaction that failed transiently and will be retried. */
  onRetry?(category: EtcdFailureCategory): void;
}

export interface ShardWriterOptions {
  readonly client: EtcdClient;
  /** The cluster's key layout (its etcd prefix). */
  readonly keys: Keyspace;
  /** Deadline, attempt timeout and backoff of write() calls (the GOVERSE_SHARD_WRITE_* settings). Default 10 s, 5 s, 50 ms .. 1 s. */
  readonly retry?: ShardWriteRetry;
  /** Transactions in flight at once. Default 4. */
  readonly concurrency?: number;
  readonly metrics?: ShardWriterMetrics;
  readonly logger?: Logger;
}

interface Pending {
  readonly index: number;
  readonly shardId: number;
  readonly key: string;
  readonly expected: number;
  readonly raw: string;
  readonly alsoOps: readonly TxnOp[];
}

/** What a write needs from its writer. */
interface WriterConfig {
  readonly client: EtcdClient;
  readonly retry: ShardWriteRetry;
  readonly metrics: ShardWriterMetrics;
  readonly log: Logger;
}

export class ShardWriter {
  private readonly keys: Keyspace;
  private readonly concurrency: number;
  private readonly config: WriterConfig;

  constructor(options: ShardWriterOptions) {
    this.keys = options.keys;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.config = {
      client: options.client,
      retry: options.retry ?? DEFAULT_SHARD_WRITE_RETRY,
      metrics: options.metrics ?? {},
      log: (options.logger ?? nullLogger).child({ component: 'shard-writer' }),
    };
  }

  /**
   * Writes every change with CAS semantics. Never throws for etcd trouble: each shard ends written, conflict or
   * failed (a value beyond its key's bound fails with ValueTooLargeError, unwritten). Throws InvalidArgumentError for
   * unusable input (a duplicate shard or key, a guard too large).
   */
  async write(changes: readonly ShardChange[], options: ShardWriteOptions = {}): Promise<ShardWriteReport> {
    const guard = options.guard ?? [];
    const results = new Array<ShardWriteResult | undefined>(changes.length).fill(undefined);
    const pending = this.prepare(changes, guard, results);
    const batches = pack(pending, guard.length, options.recordOps === undefined ? 0 : RECORD_OPS_RESERVE);
    const run = new WriteRun(this.config, guard, options, results, batches.length === 1 ? options.recordOps : undefined);
    let nextBatch = 0;
    const worker = async (): Promise<void> => {
      while (nextBatch < batches.length) await run.commit(batches[nextBatch++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));

    const final = results.map((r, i) => r ?? internalFailure(changes[i]!.shardId));
    const count = (s: ShardWriteResult['status']): number => final.filter((r) => r.status === s).length;
    this.countFailures(final);
    return {
      results: final,
      written: count('written'),
      conflicts: count('conflict'),
      failed: count('failed'),
      guardFailure: run.guardFailure,
      recorded: run.recorded,
    };
  }

  /** Validates and formats the input; unformattable values become failed results right away. */
  private prepare(
    changes: readonly ShardChange[],
    guard: readonly TxnCompare[],
    results: (ShardWriteResult | undefined)[],
  ): Pending[] {
    if (guard.length >= MAX_TXN_OPS) {
      throw new InvalidArgumentError(`shard write guard has ${guard.length} compares; at most ${MAX_TXN_OPS - 1} fit`);
    }
    // etcd rejects a txn that writes one key twice.
    const seen = new Set<string>();
    const claim = (key: string, what: string): void => {
      if (seen.has(key)) throw new InvalidArgumentError(`shard write: ${what} ${key} appears more than once`);
      seen.add(key);
    };
    const pending: Pending[] = [];
    changes.forEach((c, index) => {
      if (!Number.isSafeInteger(c.shardId) || c.shardId < 0) {
        throw new InvalidArgumentError(`shard write: shard ID ${c.shardId} is not a non-negative integer`);
      }
      const key = this.keys.shard(c.shardId);
      claim(key, 'shard key');
      const alsoOps = c.alsoOps ?? [];
      if (alsoOps.length + 1 > MAX_TXN_OPS) {
        throw new InvalidArgumentError(`shard write: shard ${c.shardId} carries ${alsoOps.length} extra ops; too many for one txn`);
      }
      for (const op of alsoOps) claim(op.key, 'extra op key');
      let raw: string;
      try {
        raw = formatShardValue(c.value);
        // A shard value keeps the flags and owner it had, which anyone with etcd access may have inflated.
        checkValueSize(this.keys, key, raw);
        for (const op of alsoOps) if (op.type === 'put') checkValueSize(this.keys, op.key, op.value);
      } catch (err) {
        results[index] = { status: 'failed', shardId: c.shardId, error: mapEtcdError(err, `shard ${c.shardId}`) };
        return;
      }
      pending.push({ index, shardId: c.shardId, key, expected: c.expectedModRevision, raw, alsoOps });
    });
    return pending;
  }

  private countFailures(results: readonly ShardWriteResult[]): void {
    const counts = new Map<EtcdFailureCategory, number>();
    for (const r of results) {
      if (r.status === 'written') continue;
      const category = r.status === 'conflict' ? 'modrevision_conflict' : categorizeEtcdError(r.error);
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
    for (const [category, n] of counts) this.config.metrics.onWriteFailures?.(category, n);
  }
}

/** Success ops kept free in every transaction for the `recordOps` (an entry and the expiry of old ones, with room). */
const RECORD_OPS_RESERVE = 4;

/**
 * Splits shards into transactions: compares (guard + shards), success ops (puts + extra ops + `reserved`) and failure
 * reads (guard + shards) each within MAX_TXN_OPS.
 */
function pack(pending: readonly Pending[], guardSize: number, reserved: number): Pending[][] {
  const batches: Pending[][] = [];
  let batch: Pending[] = [];
  let ops = reserved;
  for (const p of pending) {
    const size = 1 + p.alsoOps.length;
    if (batch.length > 0 && (guardSize + batch.length + 1 > MAX_TXN_OPS || ops + size > MAX_TXN_OPS)) {
      batches.push(batch);
      batch = [];
      ops = reserved;
    }
    batch.push(p);
    ops += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function internalFailure(shardId: number): ShardWriteResult {
  return { status: 'failed', shardId, error: new InternalError(`shard ${shardId}: write ended without a result`) };
}

/** The state of one write() call shared by its batches: deadline, abort, guard failure. */
class WriteRun {
  guardFailure: GuardFailedError | null = null;
  recorded = false;
  private readonly deadline: number;

  constructor(
    private readonly s: WriterConfig,
    private readonly guard: readonly TxnCompare[],
    private readonly options: ShardWriteOptions,
    private readonly results: (ShardWriteResult | undefined)[],
    /** Only for a write of one batch (see ShardWriteOptions.recordOps). */
    private readonly recordOps: ShardWriteOptions['recordOps'],
  ) {
    this.deadline = performance.now() + (options.timeoutMs ?? this.s.retry.deadlineMs);
  }

  /** Commits one batch: conflicts split off, transient errors retried, until every shard has a result. */
  async commit(batch: readonly Pending[]): Promise<void> {
    let remaining = batch;
    let attempt = 0;
    /** An attempt failed in a way that may have applied it: a later "conflict" can be our own write. */
    let ambiguous = false;
    let lastError: GoverseError | null = null;
    while (remaining.length > 0) {
      if (this.guardFailure !== null) return this.fail(remaining, this.guardFailure);
      if (this.options.signal?.aborted) return this.fail(remaining, new AbortedError('shard write aborted'));
      const left = this.deadline - performance.now();
      if (left <= 0) return this.fail(remaining, this.deadlineError(lastError, attempt));
      try {
        const recordOps = this.recordOps?.(remaining.map((p) => p.shardId)) ?? [];
        const res = await this.s.client.txn(
          {
            compares: [...this.guard, ...remaining.map((p) => ({ key: p.key, modRevision: p.expected }))],
            success: [...remaining.flatMap((p) => [{ type: 'put' as const, key: p.key, value: p.raw }, ...p.alsoOps]), ...recordOps],
            failureReads: [...this.guard.map((g) => g.key), ...remaining.map((p) => p.key)],
          },
          { timeoutMs: Math.min(left, this.s.retry.attemptTimeoutMs), signal: this.options.signal },
        );
        if (res.succeeded) {
          for (const p of remaining) this.settle(p, { status: 'written', shardId: p.shardId, modRevision: res.revision, raw: p.raw });
          this.recorded = recordOps.length > 0;
          return;
        }
        const failedGuards = this.guard
          .map((g) => ({ key: g.key, expected: g.modRevision, actual: res.reads.get(g.key)?.modRevision ?? 0 }))
          .filter((g) => g.actual !== g.expected);
        if (failedGuards.length > 0) {
          this.guardFailure ??= new GuardFailedError(failedGuards);
          return this.fail(remaining, this.guardFailure);
        }
        const next = remaining.filter((p) => !this.settleConflict(p, res.reads.get(p.key), res.revision, ambiguous));
        if (next.length === remaining.length) {
          // Cannot happen with etcd's atomic compare+read; fail rather than loop forever.
          return this.fail(remaining, new InternalError('etcd txn failed but no compare differs from the read'));
        }
        remaining = next;
      } catch (raw) {
        const err = mapEtcdError(raw, 'shard write txn', this.options.signal);
        if (!err.retriable) return this.fail(remaining, err);
        lastError = err;
        ambiguous = true;
        const delay = backoffDelay(attempt++, this.s.retry.backoffInitialMs, this.s.retry.backoffMaxMs);
        this.s.metrics.onRetry?.(categorizeEtcdError(err));
        this.s.log.debug('shard write txn failed transiently; retrying', { shards: remaining.length, attempt, delay, err });
        if (performance.now() + delay >= this.deadline) return this.fail(remaining, this.deadlineError(err, attempt));
        await sleep(delay, this.options.signal);
      }
    }
  }

  /** Settles `p` from the failure-branch read when it conflicts; returns false when its compare held. */
  private settleConflict(p: Pending, fresh: Kv | undefined, revision: number, ambiguous: boolean): boolean {
    const actual = fresh?.modRevision ?? 0;
    if (actual === p.expected) return false;
    if (ambiguous && fresh !== undefined && fresh.value === p.raw) {
      // An attempt that failed in transit was applied after all: the changed revision holds our own value (and the
      // attempt carried the record ops, if any).
      this.settle(p, { status: 'written', shardId: p.shardId, modRevision: fresh.modRevision, raw: p.raw });
      this.recorded ||= this.recordOps !== undefined;
      return true;
    }
    const current = fresh === undefined ? undefined : toEntry(p.shardId, fresh);
    this.settle(p, { status: 'conflict', shardId: p.shardId, current, revision });
    return true;
  }

  private deadlineError(last: GoverseError | null, attempts: number): GoverseError {
    const ms = this.options.timeoutMs ?? this.s.retry.deadlineMs;
    const message = `shard write gave up after ${ms} ms (${attempts} attempts)${last ? `: ${last.message}` : ''}`;
    return last instanceof UnavailableError ? new UnavailableError(message, { cause: last }) : new TimeoutError(message, { cause: last ?? undefined });
  }

  private fail(pending: readonly Pending[], error: GoverseError): void {
    for (const p of pending) this.settle(p, { status: 'failed', shardId: p.shardId, error });
  }

  private settle(p: Pending, result: ShardWriteResult): void {
    this.results[p.index] = result;
  }
}

function toEntry(id: number, kv: Kv): ShardEntry {
  const parsed = parseShardValue(kv.value);
  return { id, ...parsed.value, modRevision: kv.modRevision, raw: kv.value, warnings: parsed.warnings };
}
