/**
 * Counts the writes etcd applies under a cluster prefix, from a raw watch: every put and delete event, by key
 * directory. Load reports (`<prefix>/load/`, each node every few seconds) are counted apart, because the write-loop
 * bound concerns everything else the cluster writes; writes a test makes itself (hostile input) are left out by their
 * revision. Tests take windows (`mark()`, then `since(mark)`) to measure a rate over a period, not an instant.
 */
import type { EtcdClient, WatchHandle } from '../../src/edge/etcd/client.js';

export interface WriteCount {
  /** Writes other than load reports and the excluded ones. */
  readonly writes: number;
  readonly loadReports: number;
  /** Those writes by the first path segment under the prefix (`shard`, `rebalance`, `migration`, ...). */
  readonly byDir: ReadonlyMap<string, number>;
  readonly seconds: number;
  readonly perSecond: number;
}

export interface WriteMark {
  readonly at: number;
  readonly index: number;
}

interface Seen {
  readonly at: number;
  readonly revision: number;
  readonly dir: string;
}

export class WriteMeter {
  private readonly seen: Seen[] = [];
  /** Revisions written by the test itself, left out of every count. */
  private readonly excluded = new Set<number>();
  private watch: WatchHandle | null = null;
  /** Why counts may be short (the watch was cancelled); null while they are complete. */
  gap: string | null = null;

  private constructor(private readonly root: string) {}

  /** Starts counting at the prefix's current revision. */
  static async start(client: EtcdClient, prefix: string): Promise<WriteMeter> {
    const meter = new WriteMeter(`${prefix}/`);
    const { revision } = await client.rangePrefix(`${meter.root}leader`);
    meter.watch = client.watchPrefix(meter.root, revision + 1, {
      onEvents: (events) => {
        const at = performance.now();
        for (const ev of events) {
          const key = ev.type === 'put' ? ev.kv.key : ev.key;
          const rest = key.slice(meter.root.length);
          const slash = rest.indexOf('/');
          meter.seen.push({ at, revision: ev.type === 'put' ? ev.kv.modRevision : ev.modRevision, dir: slash < 0 ? rest : rest.slice(0, slash) });
        }
      },
      onConnected: () => undefined,
      onDisconnected: () => undefined,
      onCancelled: (err) => {
        meter.gap = `the write meter's watch was cancelled: ${err.message}`;
      },
    });
    return meter;
  }

  /** Leaves the write at `revision` (one the test made) out of every count. */
  exclude(revision: number): void {
    this.excluded.add(revision);
  }

  mark(): WriteMark {
    return { at: performance.now(), index: this.seen.length };
  }

  /** Writes seen since `mark`, and their rate per second. */
  since(mark: WriteMark): WriteCount {
    const byDir = new Map<string, number>();
    let writes = 0;
    let loadReports = 0;
    for (const s of this.seen.slice(mark.index)) {
      if (this.excluded.has(s.revision)) continue;
      if (s.dir === 'load') {
        loadReports++;
        continue;
      }
      writes++;
      byDir.set(s.dir, (byDir.get(s.dir) ?? 0) + 1);
    }
    const seconds = (performance.now() - mark.at) / 1000;
    return { writes, loadReports, byDir, seconds, perSecond: writes / seconds };
  }

  /** The busiest one-second window since `mark` (a burst the average would hide). */
  peakPerSecond(mark: WriteMark): number {
    const times = this.seen
      .slice(mark.index)
      .filter((s) => !this.excluded.has(s.revision) && s.dir !== 'load')
      .map((s) => s.at);
    let peak = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    return peak;
  }

  async stop(): Promise<void> {
    await this.watch?.cancel();
    this.watch = null;
  }
}
