/**
 * Spacing of the leader's passes. Every watch event triggers a pass on every node; a leader pass that writes nothing
 * means the events called for nothing, and events that keep coming without calling for anything (a client hammering
 * keys under the prefix) must not run the planner in a tight loop. So after a pass that wrote nothing the next one
 * waits, doubling from `initialMs` up to `maxMs`; a pass that writes, or a change of the set of alive nodes (what the
 * leader must react to at once), resets the wait.
 */
export class PassBackoff {
  private delay = 0;
  private notBefore = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** Milliseconds until the next pass may run (0: now), against a monotonic clock. */
  waitMs(now: number): number {
    return Math.max(0, this.notBefore - now);
  }

  /** Records a pass that ended at `now`; `dueInMs`: its decision wants another look that soon, whatever the wait. */
  passed(wrote: boolean, now: number, dueInMs: number | null = null): void {
    if (wrote) return this.reset();
    this.delay = this.delay === 0 ? this.initialMs : Math.min(this.maxMs, this.delay * 2);
    this.notBefore = now + (dueInMs === null ? this.delay : Math.min(this.delay, dueInMs));
  }

  reset(): void {
    this.delay = 0;
    this.notBefore = 0;
  }
}
