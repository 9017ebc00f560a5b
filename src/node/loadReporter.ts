import type { Clock } from '../core/clock.js';
import { encodeRecord, type LoadRecord } from '../core/keyspace/records.js';
import type { Logger } from '../core/log/logger.js';
import type { HostStats } from './objects/objectHost.js';

/** Keeps the record well under etcd's value limit even with 8192 busy shards. */
const MAX_ENTRIES = 4096;
/** Weight of the newest sample in the moving averages: one burst moves the figure a third of the way. */
const ALPHA = 0.3;

/**
 * Publishes this node's smoothed load under its lease (`<prefix>/load/<addr>`) every few seconds: per-shard object
 * counts and call rates (exponential moving averages, so a single burst does not trigger moves), CPU and memory.
 */
export class LoadReporter {
  private timer: NodeJS.Timeout | null = null;
  private lastCalls = new Map<number, number>();
  private rates = new Map<number, number>();
  /** Shards served here during the last interval (objects or calls): only their rates are a history to smooth. */
  private active = new Set<number>();
  /** Shards whose last rate covered only part of an interval: they arrived during it. */
  private partial = new Set<number>();
  private lastAt: number;
  private lastCpu = process.cpuUsage();
  private cpu: number | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly options: {
      readonly stats: () => HostStats;
      readonly publish: (value: string) => Promise<void>;
      readonly intervalMs: number;
      readonly clock: Clock;
      readonly logger: Logger;
    },
  ) {
    this.lastAt = options.clock.monotonic();
    // The host counts calls since it started: calls made before this reporter are not this interval's.
    this.lastCalls = new Map(options.stats().callsByShard);
  }

  start(): void {
    const tick = (): void => {
      this.inFlight = this.report()
        .catch((err: unknown) => this.options.logger.debug('load report failed', { err }))
        .finally(() => {
          this.inFlight = null;
          if (this.timer !== null) this.timer = setTimeout(tick, this.options.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  /** Samples and smooths; exported for tests through `sample()`. */
  sample(): LoadRecord {
    const now = this.options.clock.monotonic();
    const dt = Math.max(0.001, (now - this.lastAt) / 1000);
    this.lastAt = now;
    const stats = this.options.stats();
    const nextRates = new Map<number, number>();
    const nextActive = new Set(stats.objectsByShard.keys());
    const nextPartial = new Set<number>();
    for (const [shard, calls] of stats.callsByShard) {
      // The counters start at 0 and only grow, so a shard missing from the last sample had no calls then.
      const rate = Math.max(0, calls - (this.lastCalls.get(shard) ?? 0)) / dt;
      // A shard that was not served here during the last interval has just arrived (moved here, say): its rate from
      // an earlier stay, or none, is no history to average with, and its first figure covers only the part of the
      // interval since it came, so the next, full interval replaces that figure too. (Averaging the arrival with a
      // zero made a moved shard read idle at its new owner and climb by 30% of its rate per report, while the
      // `load` strategy saw the new owner as light and moved more shards to it.)
      const arriving = !this.active.has(shard);
      const history = arriving || this.partial.has(shard) ? undefined : this.rates.get(shard);
      const smoothed = history === undefined ? rate : ALPHA * rate + (1 - ALPHA) * history;
      if (rate > 0) {
        nextActive.add(shard);
        if (arriving) nextPartial.add(shard);
      }
      if (smoothed > 0.001 || stats.objectsByShard.has(shard)) nextRates.set(shard, smoothed);
    }
    this.lastCalls = new Map(stats.callsByShard);
    this.rates = nextRates;
    this.active = nextActive;
    this.partial = nextPartial;
    const cpuNow = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const cores = (cpuNow.user + cpuNow.system) / 1e6 / dt;
    this.cpu = this.cpu === null ? cores : ALPHA * cores + (1 - ALPHA) * this.cpu;
    const shards = new Set([...stats.objectsByShard.keys(), ...nextRates.keys()]);
    let entries = [...shards].map((s): [number, number, number] => [s, stats.objectsByShard.get(s) ?? 0, round(nextRates.get(s) ?? 0)]);
    let truncated = 0;
    if (entries.length > MAX_ENTRIES) {
      entries.sort((a, b) => b[2] - a[2] || b[1] - a[1]);
      truncated = entries.length - MAX_ENTRIES;
      entries = entries.slice(0, MAX_ENTRIES);
    }
    entries.sort((a, b) => a[0] - b[0]);
    return { at: this.options.clock.now(), cpu: round(this.cpu), rssBytes: process.memoryUsage.rss(), shards: entries, truncated };
  }

  private async report(): Promise<void> {
    await this.options.publish(encodeRecord(this.sample()));
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
