/** Waiting helpers for retry loops (etcd edge, client, membership, persistence, console). */

/** Resolves after `ms`, or at once when `signal` aborts (callers check the signal themselves). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Capped exponential backoff with jitter: attempt n (from 0) waits a uniform time in [d/2, d], d = min(max,
 * initial * 2^n). The jitter keeps many writers that failed together from retrying in lockstep.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return d / 2 + (random() * d) / 2;
}
