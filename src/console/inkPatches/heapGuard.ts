/**
 * Keeps the console's resident memory near its live heap. V8 sizes a 64-bit heap for throughput and lets garbage grow
 * to two or three times the live data before a full collection; for a console left open through a storm of etcd
 * events (snapshots, views, scrapes and frames replaced many times a second) that is 80+ MB of garbage on top of a
 * ~150 MB process. Collecting when the heap has grown by a slack since the last collection bounds it, for a few
 * milliseconds every several seconds. The slack grows with the live heap (a third of it, 32 MB at least): a full
 * collection costs in proportion to the live heap, so at 65,536 shards and 1,000 scraped nodes a fixed slack would
 * collect every second or two and spend a tenth of a core on it. V8 has no runtime setting for the heap limit; `gc` is
 * reached by exposing it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export class HeapGuard {
  private readonly gc: (() => void) | null;
  private baseline: number;

  constructor(private readonly minSlackBytes: number = 32 * 1024 * 1024) {
    this.gc = exposeGc();
    this.baseline = process.memoryUsage().heapUsed;
  }

  /** Collects when the heap outgrew the slack; call it from a periodic timer. */
  check(): void {
    const slack = Math.max(this.minSlackBytes, this.baseline / 3);
    if (this.gc === null || process.memoryUsage().heapUsed < this.baseline + slack) return;
    this.gc();
    this.baseline = process.memoryUsage().heapUsed;
  }
}

function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    // A runtime that refuses the flag keeps V8's own sizing.
    return null;
  }
}
