import type { Clock } from '../../core/clock.js';
import { AbortedError, TimeoutError, type GoverseError } from '../../core/errors.js';

/** How long a caller is prepared to wait: an AbortSignal and/or an absolute deadline in `clock.monotonic()` ms. */
export interface WaitOptions {
  readonly signal?: AbortSignal;
  readonly deadline?: number;
}

/** The error for a wait that is already over, or null. */
export function waitOver(options: WaitOptions, clock: Clock, what: string): GoverseError | null {
  if (options.signal?.aborted) return new AbortedError(`${what}: aborted`, { cause: options.signal.reason });
  if (options.deadline !== undefined && clock.monotonic() >= options.deadline) {
    return new TimeoutError(`${what}: deadline passed`);
  }
  return null;
}

/**
 * Calls `cancel` when the signal aborts or the deadline passes (possibly both: callers ignore the second call).
 * Returns the function that disarms both.
 */
export function armWait(
  options: WaitOptions,
  clock: Clock,
  what: string,
  cancel: (err: GoverseError) => void,
): () => void {
  const { signal, deadline } = options;
  const onAbort = (): void => cancel(new AbortedError(`${what}: aborted`, { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(() => cancel(new TimeoutError(`${what}: deadline passed`)), Math.max(0, deadline - clock.monotonic()));
  return () => {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  };
}
