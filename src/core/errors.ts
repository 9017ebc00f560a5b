/**
 * Typed errors. Every error the project raises on purpose is a GoverseError: it has a stable `code`, says whether
 * retrying the same operation can succeed (`retriable`), and keeps the underlying `cause`.
 */
import { printableJson } from './text/printable.js';

export type ErrorCode =
  | 'invalid_argument'
  | 'invalid_object_id'
  | 'bad_request'
  | 'unauthenticated'
  | 'state_too_large'
  | 'config'
  | 'conflict'
  | 'precondition'
  | 'not_found'
  | 'unavailable'
  | 'timeout'
  | 'aborted'
  | 'fenced'
  | 'not_owner'
  | 'lock_timeout'
  | 'persistence'
  | 'internal';

export interface GoverseErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class GoverseError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: GoverseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad input from a user or a caller: never retriable. */
export class InvalidArgumentError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('invalid_argument', message, options);
  }
}

/** A value would exceed the bound of its key (see core/keyspace/valueBounds): it is not written. */
export class ValueTooLargeError extends InvalidArgumentError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`not writing ${key.length > 200 ? `${key.slice(0, 200)}...` : key}: ${reason}`);
  }
}

export class InvalidObjectIdError extends GoverseError {
  constructor(
    readonly objectId: string,
    readonly reason: string,
  ) {
    super('invalid_object_id', `invalid object ID ${printableJson(JSON.stringify(objectId))}: ${reason}`);
  }
}

/** The bytes received are not an HTTP request the server can parse (bad request line, oversized headers...). */
export class BadRequestError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('bad_request', message, options);
  }
}

/**
 * The request carries no valid credentials. `challenge` is the `WWW-Authenticate` value that tells the client
 * which scheme to use.
 */
export class UnauthenticatedError extends GoverseError {
  constructor(
    message: string,
    readonly challenge: string,
  ) {
    super('unauthenticated', message);
  }
}

/** A configuration value is invalid. `source` names where it came from: `flag --x`, `env GOVERSE_X` or `file.yaml:key`. */
export class ConfigError extends GoverseError {
  constructor(
    readonly source: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super('config', `${source}: ${message}`, options);
  }
}

/** A compare-and-swap lost: the key changed since it was read. Retrying blindly would overwrite someone's write. */
export class ConflictError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('conflict', message, options);
  }
}

/** The operation's precondition does not hold (for example the target node is not alive). */
export class PreconditionError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('precondition', message, options);
  }
}

export class NotFoundError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('not_found', message, options);
  }
}

/** A dependency (etcd, a node) could not be reached. Retriable. */
export class UnavailableError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('unavailable', message, { ...options, retriable: true });
  }
}

/** A deadline passed. Retriable by default: the work may succeed with more time. */
export class TimeoutError extends GoverseError {
  constructor(message: string, options: GoverseErrorOptions = {}) {
    super('timeout', message, { retriable: true, ...options });
  }
}

/** The caller gave up (AbortSignal). */
export class AbortedError extends GoverseError {
  constructor(message = 'operation aborted', options: { cause?: unknown } = {}) {
    super('aborted', message, options);
  }
}

/** This node lost (or may have lost) its etcd lease and refuses to serve until it has re-registered. */
export class FencedError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('fenced', message, { ...options, retriable: true });
  }
}

/** The shard (or object) is not served here right now: routed elsewhere or migrating. Retriable. */
export class NotOwnerError extends GoverseError {
  constructor(
    message: string,
    readonly shardId: number | null = null,
    options: { cause?: unknown } = {},
  ) {
    super('not_owner', message, { ...options, retriable: true });
  }
}

export class InternalError extends GoverseError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('internal', message, options);
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof GoverseError && err.retriable;
}

/** A one-line description of any thrown value, including the chain of causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.filter((p, i) => i === 0 || !parts[i - 1]!.includes(p)).join(': ');
}

/**
 * A shard lock was not granted before its deadline, or its holder kept it past the maximum hold time and lost it.
 * Retriable: the lock is usually free again soon.
 */
export class LockTimeoutError extends GoverseError {
  constructor(
    message: string,
    readonly shardId: number,
    readonly mode: 'read' | 'write',
    options: { cause?: unknown } = {},
  ) {
    super('lock_timeout', message, { ...options, retriable: true });
  }
}
