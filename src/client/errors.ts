import type { ObjectOperation } from '../core/api/objectApi.js';
import { AbortedError, type ErrorCode, GoverseError, NotOwnerError, TimeoutError, UnavailableError } from '../core/errors.js';

/** Where a call went: what the client knew when it gave up, attached to every error a call ends with. */
export interface CallTrace {
  readonly operation: ObjectOperation;
  readonly type: string;
  readonly id: string;
  /** The method of a call; null for create and delete. */
  readonly method: string | null;
  /** The object's shard; null for fixed-node IDs (`<node>/<id>`). */
  readonly shard: number | null;
  /** The last node an attempt was sent to (null when no attempt found a node to send to). */
  readonly node: string | null;
  readonly attempts: number;
  readonly elapsedMs: number;
}

/** Every code a node may answer with: a reply carrying another one is reported as `internal`. */
const KNOWN_CODES: Readonly<Record<ErrorCode, true>> = {
  invalid_argument: true,
  invalid_object_id: true,
  bad_request: true,
  unauthenticated: true,
  state_too_large: true,
  config: true,
  conflict: true,
  precondition: true,
  not_found: true,
  unavailable: true,
  timeout: true,
  aborted: true,
  fenced: true,
  not_owner: true,
  lock_timeout: true,
  persistence: true,
  internal: true,
};

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(KNOWN_CODES, code);
}

/**
 * A node answered with an error: its HTTP status and the typed error it reported (code, name, message and the
 * retriable bit, which the client trusts). Thrown as the final error when it is not retriable.
 */
export class RemoteError extends GoverseError {
  /** Set when the error ends a call. */
  trace: CallTrace | null = null;

  constructor(
    readonly status: number,
    code: ErrorCode,
    /** The error class the node named (`UnknownObjectTypeError`, `NotOwnerError`...). */
    readonly remoteName: string,
    message: string,
    readonly node: string,
    retriable: boolean,
  ) {
    super(code, `${node} answered ${status} ${code}: ${message}`, { retriable });
  }
}

/** The node could not be reached, or the connection broke before a reply (refused, reset, closed). Retriable. */
export class NodeUnreachableError extends UnavailableError {
  constructor(
    readonly node: string,
    /** The socket error code (ECONNREFUSED, ECONNRESET...), when there is one. */
    readonly socketCode: string | null,
    cause: unknown,
  ) {
    super(`cannot reach node ${node}${socketCode === null ? '' : ` (${socketCode})`}`, { cause });
  }
}

/** The routing snapshot names no node that can serve the object now (no owner, owner gone, no API URL). Retriable. */
export class NoRouteError extends NotOwnerError {
  constructor(
    message: string,
    shardId: number | null,
    /** The node the snapshot names, if any (a dead owner, a node without nodeinfo). */
    readonly node: string | null,
  ) {
    super(message, shardId);
  }
}

/** The call's deadline passed while it was being retried; `cause` is the last failure. */
export class CallTimeoutError extends TimeoutError {
  constructor(
    readonly trace: CallTrace,
    cause: unknown,
  ) {
    super(`${describeCall(trace)}: deadline passed after ${attempts(trace)} in ${Math.round(trace.elapsedMs)} ms${lastCause(cause)}`, {
      cause,
    });
  }
}

/** The caller's AbortSignal fired; `cause` is the last failure, if any attempt failed before. */
export class CallAbortedError extends AbortedError {
  constructor(
    readonly trace: CallTrace,
    cause: unknown,
  ) {
    super(`${describeCall(trace)}: aborted by the caller after ${attempts(trace)}${lastCause(cause)}`, { cause });
  }
}

/** `call Counter/c1.increment (shard 12, last node 127.0.0.1:4001)`. */
export function describeCall(t: CallTrace): string {
  const what = t.operation === 'call' ? `call ${t.type}/${t.id}.${t.method ?? '?'}` : `${t.operation} ${t.type}/${t.id}`;
  const where = [t.shard === null ? 'fixed-node' : `shard ${t.shard}`, ...(t.node === null ? [] : [`last node ${t.node}`])];
  return `${what} (${where.join(', ')})`;
}

function attempts(t: CallTrace): string {
  return t.attempts === 1 ? '1 attempt' : `${t.attempts} attempts`;
}

function lastCause(cause: unknown): string {
  return cause instanceof Error ? `; last error: ${cause.message}` : '';
}
