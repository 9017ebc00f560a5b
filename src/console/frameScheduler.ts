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
 * at least `intervalMs` apart (the frame-rate cap). A request after a quiet spell is served on the next turn of the
 * event loop, so a key press shows at once while a storm of etcd events still costs one frame per interval.
 */
export class FrameScheduler {
  private pending: unknown = null;
  private last = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly onFrame: () => void,
    private readonly timer: FrameTimer = realFrameTimer,
  ) {}

  request(): void {
    if (this.pending !== null || this.stopped) return;
    const wait = Math.max(0, this.last + this.intervalMs - this.timer.now());
    this.pending = this.timer.set(() => this.run(), wait);
  }

  /** Cancels the pending frame; later requests are ignored. */
  stop(): void {
    this.stopped = true;
    if (this.pending !== null) this.timer.clear(this.pending);
    this.pending = null;
  }

  private run(): void {
    this.pending = null;
    this.last = this.timer.now();
    this.onFrame();
  }
}
