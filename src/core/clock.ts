/** Time source, injected so that pure planners and timed logic can be tested without sleeping. */
export interface Clock {
  /** Wall-clock epoch milliseconds (for records other processes read). */
  now(): number;
  /** Monotonic milliseconds (for durations and deadlines inside one process). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
