/**
 * Retry decisions (pure): what a node's reply or a socket error means, and whether to try again and when.
 * The client retries exactly the failures that say so (the `retriable` bit of a typed error): a node's 503 for a
 * shard it does not serve now, a lock timeout, a busy database, a refused or reset connection, no route in the
 * snapshot. Everything else ends the call at once.
 */
import { isErrorBody } from '../core/api/errorBody.js';
import { isRetriable } from '../core/errors.js';
import { backoffDelay } from '../edge/timing.js';
import { isErrorCode, NodeUnreachableError, RemoteError } from './errors.js';

export interface RetryPolicy {
  /** The first backoff; it doubles per attempt (with jitter) up to `maxBackoffMs`. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Migrations complete in tens of milliseconds, failovers take a lease TTL: start small, cap at half a second. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialBackoffMs: 5, maxBackoffMs: 500 };

export type RetryDecision =
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'stop'; readonly why: 'not-retriable' | 'deadline' };

/**
 * After failed attempt number `attempt` (from 0) with `remainingMs` left before the deadline: wait (capped
 * exponential backoff with jitter, never past the deadline) and retry, or stop.
 */
export function afterFailure(
  error: unknown,
  attempt: number,
  remainingMs: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): RetryDecision {
  if (!isRetriable(error)) return { kind: 'stop', why: 'not-retriable' };
  if (remainingMs <= 0) return { kind: 'stop', why: 'deadline' };
  const delay = backoffDelay(attempt, policy.initialBackoffMs, policy.maxBackoffMs, random);
  return { kind: 'retry', delayMs: Math.min(delay, remainingMs) };
}

/**
 * The error for a non-2xx reply: the node's typed error (trusting its retriable bit), or, for a reply that is not
 * ours (a proxy, a node mid-restart), 502/503/504 as retriable `unavailable` and anything else as `internal`.
 */
export function replyError(node: string, status: number, bodyText: string): RemoteError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) {
    const { code, message, retriable, name } = body.error;
    return new RemoteError(status, isErrorCode(code) ? code : 'internal', name ?? code, message, node, retriable);
  }
  const gateway = status === 502 || status === 503 || status === 504;
  const snippet = bodyText.length > 200 ? `${bodyText.slice(0, 200)}...` : bodyText;
  return new RemoteError(status, gateway ? 'unavailable' : 'internal', 'HttpError', `unexpected reply ${JSON.stringify(snippet)}`, node, gateway);
}

/** A socket-level failure of one attempt (refused, reset, closed before a reply): the node may be gone or restarting. */
export function socketError(node: string, err: unknown): NodeUnreachableError {
  const code = (err as { code?: unknown } | null)?.code;
  return new NodeUnreachableError(node, typeof code === 'string' ? code : null, err);
}
