/**
 * The cluster history's bound under chaos. The nodes (and the runner's operator) run with a small count bound, so
 * every run reaches it; a raw watch of `<prefix>/history/` follows the entries revision by revision
 * (the most entries and bytes at any revision), and at the end the history is read once the cluster has settled.
 * The checker's rule: each writer trims right after it appends, so the count may pass its bound only by what writers
 * appended and have not trimmed yet (HISTORY_TRANSIENT_EXCESS), never by more, and not at all at the end; no entry at
 * the end is older than the age bound plus the leader's trim interval.
 */
import { type HistoryBounds, trimIntervalMs } from '../../src/core/history/bounds.js';
import { HISTORY_VALUE_BOUND } from '../../src/core/keyspace/valueBounds.js';
import type { EtcdClient, WatchHandle } from '../../src/edge/etcd/client.js';
import type { Violation } from './checker.js';
import type { HistoryBoundRecord } from './history.js';

/** Small enough that the 35 s runs of CI pass the count bound (a run appends about 100 entries a minute). */
export const CHAOS_HISTORY_BOUNDS: HistoryBounds = { maxEntries: 20, maxAgeMs: 120_000 };
/** The node settings that give every node CHAOS_HISTORY_BOUNDS. */
export const CHAOS_HISTORY_ENV: Readonly<Record<string, string>> = {
  GOVERSE_HISTORY_MAX_ENTRIES: String(CHAOS_HISTORY_BOUNDS.maxEntries),
  GOVERSE_HISTORY_MAX_AGE: `${CHAOS_HISTORY_BOUNDS.maxAgeMs}ms`,
};
/** Entries appended and not trimmed yet, by every writer at once (a pass of the leader, an operator action). */
export const HISTORY_TRANSIENT_EXCESS = 32;

/** Violations of the history's bounds in a run's record. */
export function checkHistoryBound(r: HistoryBoundRecord | undefined): Violation[] {
  if (r === undefined) return [];
  const out: string[] = [];
  const transient = r.maxEntries + HISTORY_TRANSIENT_EXCESS;
  if (r.maxCount > transient) out.push(`${r.maxCount} entries at once (bound ${r.maxEntries}, ${transient} while writers trim)`);
  if (r.maxBytes > transient * HISTORY_VALUE_BOUND) out.push(`${r.maxBytes} bytes at once (at most ${transient * HISTORY_VALUE_BOUND})`);
  if (r.final === null) out.push('not read at the end of the run');
  else {
    if (r.final.count > r.maxEntries) out.push(`${r.final.count} entries at the end (bound ${r.maxEntries})`);
    const age = r.final.oldestAt === null ? 0 : r.final.at - r.final.oldestAt;
    const allowed = r.maxAgeMs + trimIntervalMs(r);
    if (age > allowed) out.push(`the oldest entry is ${age} ms old at the end (bound ${r.maxAgeMs} ms, ${allowed} ms with the trim interval)`);
  }
  return out.map((message) => ({ kind: 'history-bound' as const, message: `cluster history: ${message}`, history: [`history ${formatHistoryBound(r)}`] }));
}

export function formatHistoryBound(r: HistoryBoundRecord): string {
  const final = r.final === null ? 'not read at the end' : `${r.final.count} entries (${r.final.bytes} bytes) at the end`;
  return `${r.appended} entries appended, at most ${r.maxCount} at once (${r.maxBytes} bytes), ${final}; bound ${r.maxEntries} entries, ${r.maxAgeMs / 1000} s`;
}

/** Follows the history prefix with a raw watch (as ShardHistory follows the shards) and reads it at the end. */
export class HistoryGauge {
  private readonly sizes = new Map<string, number>();
  private maxCount = 0;
  private maxBytes = 0;
  private appended = 0;
  private gap: string | null = null;
  private watch: WatchHandle | null = null;

  private constructor(
    private readonly client: EtcdClient,
    private readonly root: string,
  ) {}

  static async start(client: EtcdClient, prefix: string): Promise<HistoryGauge> {
    const gauge = new HistoryGauge(client, `${prefix}/history/`);
    const { kvs, revision } = await client.rangePrefix(gauge.root);
    for (const kv of kvs) gauge.sizes.set(kv.key, Buffer.byteLength(kv.value));
    gauge.measure();
    gauge.watch = client.watchPrefix(gauge.root, revision + 1, {
      onEvents: (events) => {
        // A transaction's puts and deletes share a revision: measure between revisions, not between its events.
        let revision = 0;
        for (const ev of events) {
          const rev = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
          if (rev !== revision) gauge.measure();
          revision = rev;
          if (ev.type === 'delete') gauge.sizes.delete(ev.key);
          else {
            if (!gauge.sizes.has(ev.kv.key)) gauge.appended++;
            gauge.sizes.set(ev.kv.key, Buffer.byteLength(ev.kv.value));
          }
        }
        gauge.measure();
      },
      onConnected: () => undefined,
      onDisconnected: () => undefined,
      onCancelled: (err) => {
        gauge.gap ??= `history watch cancelled: ${err.message}`;
      },
    });
    return gauge;
  }

  /**
   * The record of the run: the history read once it is within its bounds (each writer trims after appending, the
   * leader every trim interval), or when `bounds`' trim interval and a margin have passed.
   */
  async finish(bounds: HistoryBounds): Promise<HistoryBoundRecord> {
    const deadline = Date.now() + trimIntervalMs(bounds) + 15_000;
    let final: HistoryBoundRecord['final'] = null;
    for (;;) {
      final = await this.read().catch(() => null);
      const within = final !== null && final.count <= bounds.maxEntries && (final.oldestAt === null || final.at - final.oldestAt <= bounds.maxAgeMs);
      if (within || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await this.stop();
    return { ...bounds, maxCount: this.maxCount, maxBytes: this.maxBytes, appended: this.appended, final, gap: this.gap };
  }

  async stop(): Promise<void> {
    await this.watch?.cancel();
    this.watch = null;
  }

  private async read(): Promise<NonNullable<HistoryBoundRecord['final']>> {
    const { kvs } = await this.client.rangePrefix(this.root);
    const times = kvs.map((kv) => Number(kv.key.slice(this.root.length, this.root.length + 13))).filter((t) => Number.isFinite(t));
    return {
      at: Date.now(),
      count: kvs.length,
      bytes: kvs.reduce((n, kv) => n + Buffer.byteLength(kv.value), 0),
      oldestAt: times.length === 0 ? null : Math.min(...times),
    };
  }

  private measure(): void {
    this.maxCount = Math.max(this.maxCount, this.sizes.size);
    let bytes = 0;
    for (const n of this.sizes.values()) bytes += n;
    this.maxBytes = Math.max(this.maxBytes, bytes);
  }
}
