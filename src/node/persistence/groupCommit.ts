import { systemClock, type Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { PersistenceError } from './errors.js';

/** The outcome of one operation of a group: its own result or its own error. */
export type Settled<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

/**
 * A store's one primitive under group commit: applies `ops` in order in one transaction, made durable before it
 * resolves, with one outcome per operation. An operation refused on its own (a stale epoch) is its outcome and leaves
 * the others to commit; a rejection means nothing of the group was committed, and fails every operation in it.
 */
export type CommitGroup<Op, R> = (ops: readonly Op[]) => Promise<readonly Settled<R>[]>;

export interface GroupLimits {
  /** Operations in one group at most. */
  readonly maxSize: number;
  /** How long the first operation of a group may wait for more to join before the group commits; 0: no wait. */
  readonly maxWaitMs: number;
}

interface Entry<Op, R> {
  readonly op: Op;
  readonly arrivedAt: number;
  resolve(value: R): void;
  reject(err: unknown): void;
}

type Wake = { readonly kind: 'turn'; readonly handle: NodeJS.Immediate } | { readonly kind: 'timer'; readonly handle: NodeJS.Timeout };

/**
 * Group commit over any store that commits a batch in one transaction: the operations of a group share its one
 * fsync (or network round trip), and each caller is answered only once the transaction that holds its operation has
 * committed.
 *
 * One group commits at a time; operations that arrive meanwhile queue for the next. A group is formed from the queue
 * when the store is free, at the end of the current turn of the event loop (so the requests read in one turn share a
 * commit), unless `maxWaitMs` has not passed since its first operation arrived, and at once when `maxSize` have
 * queued. With the default wait of 0, a lone operation on an idle store commits at the end of the turn it arrived in:
 * no added latency. A SQLite commit is synchronous and blocks the event loop, so the requests that arrive during it
 * are read in the next turn and form the next group; an asynchronous commit (a networked store) queues them while it
 * runs. Either way, the busier the store, the larger its groups.
 */
export class GroupCommit<Op, R> {
  private readonly queue: Entry<Op, R>[] = [];
  private committing = false;
  private wake: Wake | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly commit: CommitGroup<Op, R>,
    private readonly limits: GroupLimits,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Queues `op` for a group; settles with its own outcome once that group has committed (or failed). */
  submit(op: Op): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ op, arrivedAt: this.clock.monotonic(), resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every operation submitted so far has settled. */
  idle(): Promise<void> {
    if (!this.committing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.committing || this.queue.length === 0) return;
    const waited = this.clock.monotonic() - this.queue[0]!.arrivedAt;
    if (this.queue.length >= this.limits.maxSize || waited >= this.limits.maxWaitMs) {
      if (this.wake?.kind === 'turn') return;
      this.clearWake();
      this.wake = { kind: 'turn', handle: setImmediate(() => this.flush()) };
    } else if (this.wake === null) {
      this.wake = { kind: 'timer', handle: setTimeout(() => this.flush(), this.limits.maxWaitMs - waited) };
    }
  }

  private clearWake(): void {
    if (this.wake?.kind === 'turn') clearImmediate(this.wake.handle);
    else if (this.wake?.kind === 'timer') clearTimeout(this.wake.handle);
    this.wake = null;
  }

  private flush(): void {
    this.clearWake();
    if (this.committing || this.queue.length === 0) return;
    const group = this.queue.splice(0, this.limits.maxSize);
    this.committing = true;
    void this.commitGroup(group).finally(() => {
      this.committing = false;
      this.schedule();
      if (this.queue.length === 0) for (const notify of this.idleWaiters.splice(0)) notify();
    });
  }

  private async commitGroup(group: readonly Entry<Op, R>[]): Promise<void> {
    let outcomes: readonly Settled<R>[];
    try {
      outcomes = await this.commit(group.map((e) => e.op));
      if (outcomes.length !== group.length) throw new Error(`group commit returned ${outcomes.length} outcomes for ${group.length} operations`);
    } catch (err) {
      for (const e of group) e.reject(err);
      return;
    }
    group.forEach((e, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) e.resolve(outcome.value);
      else e.reject(outcome.error);
    });
  }
}

/** How a store names an operation in messages (`save Counter/c`) and turns a raw failure into its error. */
export interface GroupFailureTerms<Op> {
  describe(op: Op): string;
  /** The store's own error for `err`, its message starting with `message`. */
  asError(err: unknown, message: string): unknown;
  /** Prefixes each operation's message (the store's location). */
  readonly location: string;
}

/**
 * The outcomes of a group whose transaction failed, nothing of it committed: every operation fails, with the
 * transaction's error, or, when operation `culprit` raised the error that ended it, that one with its own error and
 * the others retriably (their writes were sound: the client's retry goes into another group).
 */
export function failedGroup<Op>(ops: readonly Op[], err: unknown, culprit: number | null, terms: GroupFailureTerms<Op>): Settled<never>[] {
  const others = ops.length > 1 ? ` (one transaction with ${ops.length - 1} other writes)` : '';
  return ops.map((op, index) => {
    const what = `${terms.location}: ${terms.describe(op)} failed`;
    if (culprit === null) return { ok: false, error: terms.asError(err, `${what}${others}`) };
    if (culprit === index) return { ok: false, error: terms.asError(err, what) };
    const cause = terms.asError(err, `${terms.describe(ops[culprit]!)} failed`);
    return {
      ok: false,
      error: new PersistenceError(`${what}: rolled back with its group, because ${describeError(cause)}`, {
        cause,
        retriable: true,
        storeCode: cause instanceof PersistenceError ? cause.storeCode : null,
      }),
    };
  });
}
