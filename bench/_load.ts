/** The load generator the call benchmarks share (a leading `_` keeps this module out of the benchmark list). */

/** Runs `concurrency` workers calling `once` back to back for `ms`; returns completed calls per second. */
export async function drive(concurrency: number, ms: number, once: (worker: number, n: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let n = 0; performance.now() < end; n++) {
        await once(w, n);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
