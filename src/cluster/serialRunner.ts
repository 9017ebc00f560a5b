import type { Logger } from '../core/log/logger.js';

/**
 * Runs an async pass on demand and on a periodic safety tick, never two at once.
 * Triggers that arrive while a pass runs coalesce into exactly one follow-up pass, so a burst of watch events
 * costs one pass, and no event is left unhandled.
 */
export class SerialRunner {
  private running: Promise<void> | null = null;
  private pending = false;
  private stopped = false;
  private immediate: NodeJS.Immediate | null = null;
  private tick: NodeJS.Timeout | null = null;
  private later: { readonly at: number; readonly timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly options: { intervalMs: number; logger: Logger; name: string },
  ) {}

  start(): void {
    this.stopped = false;
    this.scheduleTick();
    this.trigger();
  }

  /** Asks for a pass soon (after the current one, if any). */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    if (this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      void this.runNow();
    });
  }

  /** Asks for a pass in `ms` (one timer: an earlier request wins). */
  triggerIn(ms: number): void {
    if (this.stopped) return;
    const at = performance.now() + ms;
    if (this.later !== null && this.later.at <= at) return;
    if (this.later !== null) clearTimeout(this.later.timer);
    const timer = setTimeout(() => {
      this.later = null;
      this.trigger();
    }, ms);
    timer.unref();
    this.later = { at, timer };
  }

  /** Runs a pass now (waiting for the one in flight first) and resolves when it is done. */
  async runNow(): Promise<void> {
    while (this.running) await this.running;
    if (this.stopped) return;
    this.pending = false;
    this.running = this.pass()
      .catch((err: unknown) => this.options.logger.error(`${this.options.name} pass failed`, { err }))
      .finally(() => {
        this.running = null;
        if (this.pending && !this.stopped) {
          this.pending = false;
          this.trigger();
        }
      });
    await this.running;
  }

  /** Stops triggering and ticking, then waits for the pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    if (this.tick) clearTimeout(this.tick);
    if (this.later) clearTimeout(this.later.timer);
    this.immediate = null;
    this.tick = null;
    this.later = null;
    while (this.running) await this.running;
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.tick = setTimeout(() => {
      this.trigger();
      this.scheduleTick();
    }, this.options.intervalMs);
    this.tick.unref();
  }
}
