/**
 * At most one log line per key per interval, counting what it held back: a failure that repeats thousands of times a
 * second (a full disk) shows as one line every interval with the number of repeats, not as a flood.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** Null when the line is to be held back; otherwise how many were held back since the last admitted one. */
  admit(key: string, now: number): number | null {
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return null;
    }
    this.last.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}
