import type { GoverseClient } from '../../client/index.js';

/**
 * Zipf-like popularity: rank k (0-based) is drawn with probability proportional to 1 / (k + 1)^s, so a few objects
 * are hot and most are cold, as real actor workloads are. Sampling is a binary search in the cumulative weights.
 */
export class ZipfSampler {
  private readonly cumulative: Float64Array;

  constructor(
    readonly size: number,
    exponent: number,
    private readonly random: () => number = Math.random,
  ) {
    this.cumulative = new Float64Array(size);
    let sum = 0;
    for (let k = 0; k < size; k++) this.cumulative[k] = sum += 1 / Math.pow(k + 1, exponent);
  }

  next(): number {
    const x = this.random() * this.cumulative[this.size - 1]!;
    let lo = 0;
    let hi = this.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export interface LoadOptions {
  /** Distinct objects (Counter `demo-<rank>`). */
  readonly objects: number;
  /** Calls per second over all workers. */
  readonly ratePerSecond: number;
  readonly concurrency: number;
  /**
   * A hot shard set: the objects are pinned to these shards (`shard#<n>/demo-<rank>`, dealt out by rank in turn), so
   * all the load lands on them. By default object IDs hash over every shard.
   */
  readonly shards?: readonly number[];
}

/** The object of popularity rank `rank`: hashed, or pinned to one of `shards` (rank modulo their number). */
export function loadObjectId(rank: number, shards?: readonly number[]): string {
  if (shards === undefined || shards.length === 0) return `demo-${rank}`;
  return `shard#${shards[rank % shards.length]!}/demo-${rank}`;
}

/**
 * Increments Counter objects chosen by popularity (Zipf by default) through the routing client, paced to a call
 * rate; with `shards`, only objects of that hot shard set.
 */
export class LoadGenerator {
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  ok = 0;
  failed = 0;

  constructor(
    private readonly client: GoverseClient,
    private readonly options: LoadOptions,
    private readonly sampler = new ZipfSampler(options.objects, 1.1),
  ) {}

  start(): void {
    const perWorkerMs = (1000 * this.options.concurrency) / this.options.ratePerSecond;
    this.workers = Array.from({ length: this.options.concurrency }, () => this.work(perWorkerMs));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.workers);
  }

  private async work(intervalMs: number): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const id = loadObjectId(this.sampler.next(), this.options.shards);
        await this.client.call('Counter', id, 'increment', {}, { timeoutMs: 5000, signal });
        this.ok++;
      } catch {
        // Before every shard is owned, and during moves, some calls fail: the console shows it, the demo goes on.
        if (!signal.aborted) this.failed++;
      }
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0 && !signal.aborted) await sleepUnlessAborted(wait, signal);
    }
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
