import type { JsonObject, JsonValue } from '../../core/api/json.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { optionalStringArg } from './args.js';

/**
 * Idempotence for retried calls: the results of an object's most recent request IDs, kept in its state so they are
 * saved and loaded with it. A retry that reaches a new owner after a migration still finds its first result.
 * Oldest first; bounded so the state (written on every call for write-through types) stays small.
 */
export type RecentRequests = [requestId: string, result: JsonValue][];

export const REQUEST_ID_MAX_LENGTH = 200;

export function requestIdArg(args: JsonObject): string | undefined {
  return optionalStringArg(args, 'requestId', REQUEST_ID_MAX_LENGTH);
}

export function findRecent(recent: RecentRequests, requestId: string): JsonValue | undefined {
  for (let i = recent.length - 1; i >= 0; i--) {
    const entry = recent[i]!;
    if (entry[0] === requestId) return entry[1];
  }
  return undefined;
}

/** A new list with `requestId` appended and the oldest entries dropped beyond `limit`. */
export function remember(recent: RecentRequests, requestId: string, result: JsonValue, limit: number): RecentRequests {
  const next: RecentRequests = [...recent, [requestId, result]];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

export function parseRecent(value: JsonValue | undefined): RecentRequests {
  if (value === undefined) return [];
  if (
    Array.isArray(value) &&
    value.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[1] !== undefined)
  ) {
    return value as RecentRequests;
  }
  throw new InvalidArgumentError('"recent" must be a list of [requestId, result] pairs');
}
