/** What etcd3, gRPC and cockatiel throw, as typed GoverseErrors whose `retriable` bit callers can trust. */
import { isBrokenCircuitError } from 'cockatiel';
import {
  castGrpcError,
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdWatchStreamEnded,
  GRPCAbortedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCFailedPreconditionError,
  GRPCInternalError,
  GRPCInvalidArgumentError,
  GRPCNotFoundError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  GRPCUnknownError,
} from 'etcd3';
import {
  AbortedError,
  ConfigError,
  ConflictError,
  GoverseError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PreconditionError,
  TimeoutError,
  UnavailableError,
} from '../../core/errors.js';

/** etcd says the lease does not exist (expired or revoked): keepalives on it can never succeed again. */
export class LeaseNotFoundError extends NotFoundError {
  constructor(
    readonly leaseId: string,
    options: { cause?: unknown } = {},
  ) {
    super(`etcd lease ${leaseId} not found (expired or revoked)`, options);
  }
}

/**
 * etcd refused an operation because a lease is gone: a keepalive (LeaseNotFoundError), or a put under the lease
 * (mapped from gRPC's NOT_FOUND "requested lease not found").
 */
export function isLeaseNotFound(err: unknown): boolean {
  return err instanceof LeaseNotFoundError || (err instanceof NotFoundError && /requested lease not found/.test(err.message));
}

/** Upstream's `goverse_shard_mapping_write_failures_total{error_type}` categories. */
export type EtcdFailureCategory = 'modrevision_conflict' | 'timeout' | 'connection_error' | 'other';

export function categorizeEtcdError(err: unknown): EtcdFailureCategory {
  if (err instanceof ConflictError) return 'modrevision_conflict';
  if (err instanceof TimeoutError || err instanceof AbortedError) return 'timeout';
  if (err instanceof UnavailableError) return 'connection_error';
  return 'other';
}

/** Maps anything etcd3, gRPC or cockatiel throws to a typed error; `what` names the operation in the message. */
export function mapEtcdError(raw: unknown, what: string, signal?: AbortSignal): GoverseError {
  if (raw instanceof GoverseError) return raw;
  // Stream errors reach us as plain gRPC errors; the others are already cast.
  const err = raw instanceof Error ? castGrpcError(raw) : raw;
  const detail = err instanceof Error ? err.message : String(err);
  const message = `${what}: ${detail}`;
  const options = { cause: err };
  if (signal?.aborted) return new AbortedError(`${what}: aborted`, options);
  if (isBrokenCircuitError(err)) {
    return new UnavailableError(`${what}: etcd unreachable (circuit open after repeated failures)`, options);
  }
  if (err instanceof GRPCDeadlineExceededError) return new TimeoutError(message, options);
  if (err instanceof ClientClosedError) return new AbortedError(`${what}: the etcd client is closed`, options);
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCCancelledError ||
    err instanceof GRPCInternalError ||
    err instanceof GRPCUnknownError ||
    err instanceof GRPCAbortedError ||
    err instanceof GRPCResourceExhastedError ||
    err instanceof EtcdWatchStreamEnded
  ) {
    return new UnavailableError(message, options);
  }
  if (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof GRPCUnauthenticatedError
  ) {
    return new ConfigError('etcd credentials', message, options);
  }
  if (err instanceof GRPCInvalidArgumentError) return new InvalidArgumentError(message, options);
  if (err instanceof GRPCOutOfRangeError || err instanceof GRPCFailedPreconditionError) {
    return new PreconditionError(message, options);
  }
  if (err instanceof GRPCNotFoundError) return new NotFoundError(message, options);
  return new InternalError(message, options);
}

/** gRPC never got a connection, so the request cannot have reached etcd: safe to send again to another member. */
export function neverSent(err: Error): boolean {
  return err instanceof GRPCUnavailableError && /No connection established|ECONNREFUSED/.test(err.message);
}

/**
 * gRPC refused a message larger than the receive limit (a RESOURCE_EXHAUSTED raised here, unlike etcd's own, such as
 * its space quota): nothing wrong with the server, so no reason to open the circuit breaker either.
 */
export function tooLarge(err: unknown): boolean {
  return (
    err instanceof Error && castGrpcError(err) instanceof GRPCResourceExhastedError && /Received message larger than max/.test(err.message)
  );
}
