/**
 * Polls a condition until it holds or a deadline passes. Tests synchronise on conditions, never on fixed sleeps;
 * the deadline is generous so a loaded 2-core machine does not flake, and the error says what was awaited and
 * what was last seen.
 */
export interface WaitForOptions {
  /** Default 10 s. */
  readonly timeoutMs?: number;
  /** Pause between polls; default 10 ms. */
  readonly intervalMs?: number;
  /** Describes the current state for the timeout message. */
  readonly describe?: () => string;
}

export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Resolves with the first truthy value `check` returns; exceptions from `check` count as "not yet". */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const start = performance.now();
  let lastError: unknown;
  let lastValue: unknown;
  while (true) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() - start >= timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const parts = [`timed out after ${timeoutMs} ms waiting for ${what}`];
  if (lastError !== undefined) parts.push(`last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  else parts.push(`last value: ${JSON.stringify(lastValue)}`);
  if (options.describe) parts.push(`state: ${options.describe()}`);
  throw new Error(parts.join('; '));
}
