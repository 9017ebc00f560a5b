/**
 * Keeps the console's resident memory near its live heap. V8 sizes a 64-bit heap for throughput and lets garbage grow
 * to two or three times the live data before a full collection; for a console left open through a storm of etcd
 * events (snapshots, views, scrapes and frames replaced many times a second) that is 80+ MB of garbage on top of a
 * ~150 MB process. Collecting when the heap has grown by a fixed slack since the last collection bounds it, for a few
 * milliseconds every several seconds. V8 has no runtime setting for the heap limit; `gc` is reached by exposing it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export class HeapGuard {
  private readonly gc: (() => void) | null;
  private baseline: number;

  constructor(private readonly slackBytes: number = 32 * 1024 * 1024) {
    this.gc = exposeGc();
    this.baseline = process.memoryUsage().heapUsed;
  }

  /** Collects when the heap outgrew the slack; call it from a periodic timer. */
  check(): void {
    if (this.gc === null || process.memoryUsage().heapUsed < this.baseline + this.slackBytes) return;
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
