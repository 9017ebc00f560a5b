/** The load generator the call benchmarks share (a leading `_` keeps this module out of the benchmark list). */

/**
 * Runs `concurrency` workers calling `once` back to back for `ms`; returns completed calls per second. Each call's
 * latency in milliseconds is appended to `latencies` when given.
 */
export async function drive(
  concurrency: number,
  ms: number,
  once: (worker: number, n: number) => Promise<unknown>,
  latencies?: number[],
): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let n = 0; performance.now() < end; n++) {
        const sent = performance.now();
        await once(w, n);
        latencies?.push(performance.now() - sent);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The `q` quantile (0..1) of `xs`, nearest rank. */
export function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
