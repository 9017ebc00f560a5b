/** Timers the scheduler uses; injected so tests drive frames without waiting. */
export interface FrameTimer {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realFrameTimer: FrameTimer = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Coalesces update requests into frames: any number of requests between two frames give one frame, and frames are
 * spaced by a cap. Two caps: data changes (a storm of etcd events) wait `dataIntervalMs` after the last frame, an
 * operator's key only `inputIntervalMs`, so typing stays snappy while a storm costs a few frames a second. A request
 * after a quiet spell is served on the next turn of the event loop.
 */
export class FrameScheduler {
  private pending: unknown = null;
  private pendingAt = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly dataIntervalMs: number,
    private readonly inputIntervalMs: number,
    private readonly onFrame: () => void,
    private readonly timer: FrameTimer = realFrameTimer,
  ) {}

  /** `input`: the frame answers the operator (a key, a resize), so it may come sooner. */
  request(input = false): void {
    if (this.stopped) return;
    const now = this.timer.now();
    const at = Math.max(now, this.last + (input ? this.inputIntervalMs : this.dataIntervalMs));
    if (this.pending !== null) {
      if (at >= this.pendingAt) return;
      this.timer.clear(this.pending);
    }
    this.pendingAt = at;
    this.pending = this.timer.set(() => this.run(), at - now);
  }

  /** Cancels the pending frame; later requests are ignored. */
  stop(): void {
    this.stopped = true;
    if (this.pending !== null) this.timer.clear(this.pending);
    this.pending = null;
  }

  private run(): void {
    this.pending = null;
    this.pendingAt = Number.POSITIVE_INFINITY;
    this.last = this.timer.now();
    this.onFrame();
  }
}
