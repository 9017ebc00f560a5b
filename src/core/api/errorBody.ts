import { GoverseError } from '../errors.js';

/**
 * The body of every error reply of a node's HTTP servers (object API, admin API, ops endpoints): the typed error's
 * code, message and retriable bit, which the routing client trusts to decide whether to route again.
 */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly retriable: boolean;
    /** The error class (`NotOwnerError`...); nodes always send it, a reader does not require it. */
    readonly name?: string;
  };
}

export function errorBody(err: unknown): ErrorBody {
  if (err instanceof GoverseError) {
    return { error: { code: err.code, message: err.message, retriable: err.retriable, name: err.name } };
  }
  return { error: { code: 'internal', message: err instanceof Error ? err.message : String(err), retriable: false, name: 'Error' } };
}

/** Whether a parsed reply body is an ErrorBody (a reply from a proxy or a node mid-restart may be anything). */
export function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const e = (v as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return false;
  const { code, message, retriable } = e as Record<string, unknown>;
  return typeof code === 'string' && typeof message === 'string' && typeof retriable === 'boolean';
}
