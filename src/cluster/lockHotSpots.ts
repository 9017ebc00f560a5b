/** Contention on one shard over the recent window. */
export interface HotShard {
  readonly shardId: number;
  /** Acquisitions that had to queue. */
  readonly waits: number;
  readonly totalWaitMs: number;
  readonly maxWaitMs: number;
  readonly timeouts: number;
}

interface Tally {
  waits: number;
  totalWaitMs: number;
  maxWaitMs: number;
  timeouts: number;
}

/**
 * Per-shard contention over a sliding window made of two buckets (current and previous), so the figures always
 * cover between one and two windows of history and memory holds only shards that were contended lately.
 * Only contended acquisitions are recorded: the uncontended fast path never touches this.
 */
export class HotSpotWindow {
  private current = new Map<number, Tally>();
  private previous = new Map<number, Tally>();
  private currentStart: number;

  constructor(
    private readonly windowMs: number,
    now: number,
  ) {
    this.currentStart = now;
  }

  recordWait(shardId: number, waitMs: number, now: number): void {
    const t = this.tally(shardId, now);
    t.waits++;
    t.totalWaitMs += waitMs;
    if (waitMs > t.maxWaitMs) t.maxWaitMs = waitMs;
  }

  recordTimeout(shardId: number, now: number): void {
    this.tally(shardId, now).timeouts++;
  }

  /** The `n` shards with the most total wait time (timeouts break ties). */
  top(n: number, now: number): HotShard[] {
    this.rotate(now);
    const merged = new Map<number, Tally>();
    for (const bucket of [this.previous, this.current]) {
      for (const [shardId, t] of bucket) {
        const m = merged.get(shardId);
        if (m === undefined) merged.set(shardId, { ...t });
        else {
          m.waits += t.waits;
          m.totalWaitMs += t.totalWaitMs;
          m.maxWaitMs = Math.max(m.maxWaitMs, t.maxWaitMs);
          m.timeouts += t.timeouts;
        }
      }
    }
    return [...merged]
      .map(([shardId, t]) => ({ shardId, ...t }))
      .sort((a, b) => b.totalWaitMs - a.totalWaitMs || b.timeouts - a.timeouts || a.shardId - b.shardId)
      .slice(0, n);
  }

  private tally(shardId: number, now: number): Tally {
    this.rotate(now);
    let t = this.current.get(shardId);
    if (t === undefined) {
      t = { waits: 0, totalWaitMs: 0, maxWaitMs: 0, timeouts: 0 };
      this.current.set(shardId, t);
    }
    return t;
  }

  private rotate(now: number): void {
    const age = now - this.currentStart;
    if (age < this.windowMs) return;
    // After a quiet spell longer than two windows, the old bucket is no longer recent either.
    this.previous = age < 2 * this.windowMs ? this.current : new Map();
    this.current = new Map();
    this.currentStart = now;
  }
}
