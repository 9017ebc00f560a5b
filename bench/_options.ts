/** Command-line options of the benchmarks (a leading `_` keeps this module out of the benchmark list). */

/** `--name N` as a positive integer, or `fallback` when absent. */
export function integerOption(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, got ${JSON.stringify(args[i + 1])}`);
  return n;
}
