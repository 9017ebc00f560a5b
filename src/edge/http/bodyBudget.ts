/** Bodies over this size, and bodies of unknown length, are large: together they may fill only half the budget. */
export const LARGE_BODY_BYTES = 64 * 1024;

/**
 * The request-body bytes a process holds in memory at once, across every connection of its HTTP servers. A body is
 * buffered whole before it is parsed, so without a bound N slow uploads cost N times the body limit (400 trickled
 * 1 MiB bodies once took a node from 136 to 496 MB). A body reserves its declared length before a byte of it is read
 * (a body of unknown length reserves as it grows) and gives it back once parsed or abandoned; a request the budget
 * cannot hold is refused at once with a retriable 503. Large bodies share only half of the budget, so slow large
 * uploads cannot lock out the small requests that are the object API's usual traffic.
 */
export class BodyBudget {
  private used = 0;
  private usedLarge = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes` more for one body; false, reserving nothing, when the budget cannot hold them. */
  take(bytes: number, large: boolean): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    if (large && this.usedLarge + bytes > this.limitBytes / 2) return false;
    this.used += bytes;
    if (large) this.usedLarge += bytes;
    return true;
  }

  /** Returns what `take` reserved (with the same `large`). */
  give(bytes: number, large: boolean): void {
    this.used -= bytes;
    if (large) this.usedLarge -= bytes;
  }
}
